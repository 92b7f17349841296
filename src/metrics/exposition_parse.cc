#include "metrics/exposition_parse.h"

#include <cmath>
#include <cstdlib>
#include <set>

#include "metrics/registry.h"

namespace metrics {

using common::Result;
using common::Status;

namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

// Reads a name at `pos` (advancing it); empty when there is none.
std::string_view ReadName(std::string_view line, size_t& pos) {
  const size_t start = pos;
  while (pos < line.size() && IsNameChar(line[pos], pos == start)) ++pos;
  return line.substr(start, pos - start);
}

Result<double> ParseValue(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return HUGE_VAL;
  if (s == "-Inf") return -HUGE_VAL;
  if (s == "NaN") return std::nan("");
  if (s.empty()) return common::InvalidArgumentError("missing value");
  std::string copy(s);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return common::InvalidArgumentError("bad value \"" + copy + "\"");
  return v;
}

// Reads `"value"` at `pos` (at the opening quote), unescaping.
Result<std::string> ReadQuoted(std::string_view line, size_t& pos) {
  if (pos >= line.size() || line[pos] != '"') return common::InvalidArgumentError("expected '\"'");
  std::string out;
  for (++pos; pos < line.size(); ++pos) {
    const char c = line[pos];
    if (c == '"') {
      ++pos;
      return out;
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++pos == line.size()) break;
    switch (line[pos]) {
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'n': out += '\n'; break;
      default: return common::InvalidArgumentError(std::string("bad escape \\") + line[pos]);
    }
  }
  return common::InvalidArgumentError("unterminated label value");
}

Result<Labels> ReadLabels(std::string_view line, size_t& pos) {
  Labels labels;
  ++pos;  // '{'
  while (pos < line.size() && line[pos] != '}') {
    std::string_view name = ReadName(line, pos);
    if (name.empty() || !ValidLabelName(name)) return common::InvalidArgumentError("bad label name");
    if (pos >= line.size() || line[pos] != '=') return common::InvalidArgumentError("expected '=' after label name");
    ++pos;
    ASSIGN_OR_RETURN(std::string value, ReadQuoted(line, pos));
    labels.emplace_back(std::string(name), std::move(value));
    if (pos < line.size() && line[pos] == ',') ++pos;
  }
  if (pos >= line.size()) return common::InvalidArgumentError("unterminated label set");
  ++pos;  // '}'
  return labels;
}

Result<Sample> ParseSample(std::string_view line) {
  Sample s;
  size_t pos = 0;
  s.name = std::string(ReadName(line, pos));
  if (s.name.empty()) return common::InvalidArgumentError("bad metric name");
  if (pos < line.size() && line[pos] == '{') {
    ASSIGN_OR_RETURN(s.labels, ReadLabels(line, pos));
  }
  if (pos >= line.size() || line[pos] != ' ') return common::InvalidArgumentError("expected ' ' before the value");
  std::string_view rest = line.substr(pos + 1);
  const size_t space = rest.find(' ');
  if (space != std::string_view::npos) {
    std::string_view ts = rest.substr(space + 1);
    if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos) {
      return common::InvalidArgumentError("bad timestamp");
    }
    rest = rest.substr(0, space);
  }
  ASSIGN_OR_RETURN(s.value, ParseValue(rest));
  return s;
}

std::string UnescapeHelp(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
      out += s[++i] == 'n' ? '\n' : '\\';
    } else {
      out += s[i];
    }
  }
  return out;
}

// A "# HELP" or "# TYPE" line into `e`; other comments are ignored.
Status ParseComment(std::string_view line, Exposition& e) {
  const bool help = line.starts_with("# HELP ");
  if (!help && !line.starts_with("# TYPE ")) return Status::Ok();
  size_t pos = 7;
  const std::string name(ReadName(line, pos));
  if (name.empty()) return common::InvalidArgumentError("bad metric name");
  const std::string_view rest = pos < line.size() ? line.substr(pos + 1) : std::string_view();
  if (pos < line.size() && line[pos] != ' ') return common::InvalidArgumentError("expected ' ' after the name");
  if (help) {
    if (!e.helps.emplace(name, UnescapeHelp(rest)).second) return common::InvalidArgumentError("second HELP line");
    return Status::Ok();
  }
  static const std::set<std::string_view> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
  if (!kTypes.contains(rest)) return common::InvalidArgumentError("unknown type \"" + std::string(rest) + "\"");
  if (!e.types.emplace(name, std::string(rest)).second) return common::InvalidArgumentError("second TYPE line");
  return Status::Ok();
}

bool HasLabels(const Sample& s, const Labels& want) {
  for (const auto& w : want) {
    bool found = false;
    for (const auto& l : s.labels) found = found || l == w;
    if (!found) return false;
  }
  return true;
}

}  // namespace

const Sample* Exposition::Find(std::string_view name, const Labels& labels) const {
  for (const Sample& s : samples) {
    if (s.name == name && HasLabels(s, labels)) return &s;
  }
  return nullptr;
}

std::vector<const Sample*> Exposition::FindAll(std::string_view name, const Labels& labels) const {
  std::vector<const Sample*> out;
  for (const Sample& s : samples) {
    if (s.name == name && HasLabels(s, labels)) out.push_back(&s);
  }
  return out;
}

Result<Exposition> ParseExposition(std::string_view text) {
  Exposition e;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    Status s;
    if (line[0] == '#') {
      s = ParseComment(line, e);
    } else {
      Result<Sample> sample = ParseSample(line);
      if (sample.has_value()) {
        e.samples.push_back(std::move(*sample));
      } else {
        s = sample.error();
      }
    }
    if (!s.ok()) {
      return common::InvalidArgumentError("line " + std::to_string(line_no) + ": " + s.message() + ": " +
                                          std::string(line));
    }
  }
  return e;
}

}  // namespace metrics
