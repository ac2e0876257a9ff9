// Result<T>: a value or an operator-readable error message, for errors as values at boundaries.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace minid {

struct Error {
    std::string message;
};

inline Error make_error(std::string message) {
    return Error{std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error e) : v_(std::move(e)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const& {
        assert(ok());
        return std::get<0>(v_);
    }
    T&& value() && {
        assert(ok());
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    const std::string& error() const {
        assert(!ok());
        return std::get<1>(v_).message;
    }

  private:
    std::variant<T, Error> v_;
};

// Result<void>: success or an error message.
template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Error e) : err_(std::move(e.message)), failed_(true) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const std::string& error() const {
        assert(failed_);
        return err_;
    }

  private:
    std::string err_;
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace minid
