// A small parser and validator of the Prometheus text exposition format 0.0.4 (names, labels
// and escapes, values, HELP/TYPE placement, contiguous families, no duplicate series), shared
// by the metrics unit test and the minidctl integration test.
#pragma once

#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace minid::test::prometheus {

struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct Exposition {
    std::vector<Sample> samples;
    std::map<std::string, std::string> types;
    std::map<std::string, std::string> helps;

    // The value of the single sample with this name and (a subset of) labels.
    std::optional<double> value(const std::string& name,
                                const std::map<std::string, std::string>& labels = {}) const {
        std::optional<double> found;
        for (const auto& s : samples) {
            if (s.name != name) continue;
            bool match = true;
            for (const auto& [k, v] : labels)
                if (!s.labels.count(k) || s.labels.at(k) != v) match = false;
            if (!match) continue;
            if (found) return std::nullopt;  // ambiguous
            found = s.value;
        }
        return found;
    }
};

inline bool is_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
inline bool is_name_char(char c) {
    return is_name_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

inline bool valid_metric_name(const std::string& n) {
    if (n.empty() || !is_name_start(n[0])) return false;
    for (char c : n)
        if (!is_name_char(c)) return false;
    return true;
}

inline bool parse_value(const std::string& text, double& out) {
    if (text == "+Inf") return out = INFINITY, true;
    if (text == "-Inf") return out = -INFINITY, true;
    if (text == "NaN") return out = NAN, true;
    if (text.empty()) return false;
    size_t used = 0;
    try {
        out = std::stod(text, &used);
    } catch (...) {
        return false;
    }
    return used == text.size();
}

// Parses and validates; on error returns the message with the line number.
inline std::string parse_exposition(const std::string& text, Exposition& out) {
    if (text.empty() || text.back() != '\n') return "must end with a newline";
    std::istringstream in(text);
    std::string line;
    int n = 0;
    std::string current_family;  // family of the previous sample
    std::set<std::string> finished_families;
    std::set<std::string> series;
    while (std::getline(in, line)) {
        ++n;
        const std::string where = "line " + std::to_string(n) + " '" + line + "': ";
        if (line.empty()) continue;
        if (line[0] == '#') {
            std::istringstream ls(line);
            std::string hash, kw, name;
            ls >> hash >> kw >> name;
            if (kw != "HELP" && kw != "TYPE") continue;  // plain comment
            if (!valid_metric_name(name)) return where + "bad metric name";
            std::string rest;
            std::getline(ls, rest);
            if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
            if (finished_families.count(name) || (current_family == name))
                return where + kw + " after the family's samples";
            if (kw == "TYPE") {
                static const std::set<std::string> kTypes = {"counter", "gauge", "histogram",
                                                             "summary", "untyped"};
                if (!kTypes.count(rest)) return where + "unknown type";
                if (out.types.count(name)) return where + "second TYPE";
                out.types[name] = rest;
            } else {
                if (out.helps.count(name)) return where + "second HELP";
                if (rest.empty()) return where + "empty HELP";
                out.helps[name] = rest;
            }
            continue;
        }
        Sample s;
        size_t i = 0;
        while (i < line.size() && is_name_char(line[i])) ++i;
        s.name = line.substr(0, i);
        if (!valid_metric_name(s.name)) return where + "bad metric name";
        std::string label_text;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                size_t start = i;
                while (i < line.size() &&
                       (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_'))
                    ++i;
                std::string lname = line.substr(start, i - start);
                if (lname.empty() || std::isdigit(static_cast<unsigned char>(lname[0])))
                    return where + "bad label name";
                if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"')
                    return where + "label without =\"";
                i += 2;
                std::string value;
                for (;;) {
                    if (i >= line.size()) return where + "unterminated label value";
                    char c = line[i++];
                    if (c == '"') break;
                    if (c == '\\') {
                        if (i >= line.size()) return where + "dangling escape";
                        char e = line[i++];
                        if (e == 'n')
                            value += '\n';
                        else if (e == '\\' || e == '"')
                            value += e;
                        else
                            return where + "bad escape";
                    } else {
                        value += c;
                    }
                }
                if (s.labels.count(lname)) return where + "repeated label";
                s.labels[lname] = value;
                if (i < line.size() && line[i] == ',')
                    ++i;
                else if (i < line.size() && line[i] != '}')
                    return where + "expected , or }";
            }
            if (i >= line.size()) return where + "unterminated labels";
            label_text = line.substr(line.find('{'), i - line.find('{') + 1);
            ++i;
        }
        if (i >= line.size() || line[i] != ' ')
            return where + "expected one space before the value";
        std::string rest = line.substr(i + 1);
        std::string value_text = rest.substr(0, rest.find(' '));
        if (rest.find(' ') != std::string::npos) {
            std::string ts = rest.substr(rest.find(' ') + 1);
            if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string::npos)
                return where + "bad timestamp";
        }
        if (!parse_value(value_text, s.value)) return where + "bad value";
        // For counters and gauges the sample name is the family name.
        const std::string family = s.name;
        if (!out.types.count(family)) return where + "sample before its TYPE line";
        const std::string& type = out.types[family];
        if (type == "counter" && (s.value < 0 || std::isnan(s.value)))
            return where + "negative counter";
        if (family != current_family) {
            if (finished_families.count(family)) return where + "family samples are not contiguous";
            if (!current_family.empty()) finished_families.insert(current_family);
            current_family = family;
        }
        if (!series.insert(s.name + label_text).second) return where + "duplicate series";
        out.samples.push_back(std::move(s));
    }
    return "";
}

}  // namespace minid::test::prometheus
