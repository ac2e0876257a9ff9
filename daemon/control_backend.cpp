// The Master behind the ControlBackend interface.
#include "daemon/control_backend.hpp"

namespace minid {
namespace {

class MasterBackend final : public ControlBackend {
  public:
    explicit MasterBackend(Master& master) : master_(master) {}
    Master::Info info() const override { return master_.info(); }
    const StatsSegment& stats() const override { return master_.stats(); }
    void reload(Master::ReloadDone done) override { master_.reload(std::move(done)); }
    void stop(bool fast) override { master_.stop(fast); }
    void reopen_logs() override { master_.reopen_logs(); }
    Status set_workers(unsigned count) override { return master_.set_workers(count); }

  private:
    Master& master_;
};

}  // namespace

std::unique_ptr<ControlBackend> make_master_backend(Master& master) {
    return std::make_unique<MasterBackend>(master);
}

}  // namespace minid
