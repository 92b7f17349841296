#include "client/cli_format.h"

#include <cstdio>

namespace replog::cli {

namespace {

// The length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 when
// none starts there (stray continuation, overlong form, surrogate, beyond
// U+10FFFF, truncated).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string Hex(unsigned char c, const char* prefix) {
  char buf[12];
  std::snprintf(buf, sizeof(buf), "%s%02x", prefix, static_cast<unsigned>(c));
  return buf;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> SplitAddresses(std::string_view csv) {
  std::vector<std::string> out;
  while (!csv.empty()) {
    size_t comma = csv.find(',');
    std::string_view part = Trim(csv.substr(0, comma));
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
  }
  return out;
}

common::Result<Header> ParseHeader(std::string_view text) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return common::InvalidArgumentError("header '" + std::string(text) + "' is not key=value");
  }
  return Header{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string Base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

std::string JsonString(std::string_view utf8) {
  std::string out = "\"";
  for (char c : utf8) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += Hex(static_cast<unsigned char>(c), "\\u00");
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string JsonBytesMember(std::string_view name, std::string_view bytes) {
  std::string out = JsonString(name) + ":";
  if (IsValidUtf8(bytes)) return out + JsonString(bytes);
  return out + JsonString(Base64(bytes)) + "," + JsonString(std::string(name) + "_encoding") + ":\"base64\"";
}

std::string HumanBytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    auto c = static_cast<unsigned char>(bytes[i]);
    size_t n = Utf8SequenceLength(bytes, i);
    if (c == '\\') out += "\\\\";
    else if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (n == 0 || c < 0x20 || c == 0x7F) out += Hex(c, "\\x");
    else out.append(bytes.substr(i, n));
    i += n == 0 ? 1 : n;
  }
  return out;
}

std::string FormatRecordHuman(const Record& r) {
  std::string out = std::to_string(r.offset) + "\t" + HumanBytes(r.key) + "\t" + HumanBytes(r.value);
  for (const Header& h : r.headers) out += "\t" + HumanBytes(h.key) + "=" + HumanBytes(h.value);
  return out;
}

std::string FormatRecordJson(const Record& r) {
  std::string out = "{\"offset\":" + std::to_string(r.offset) + "," + JsonBytesMember("key", r.key) + "," +
                    JsonBytesMember("value", r.value) + ",\"headers\":[";
  for (size_t i = 0; i < r.headers.size(); i++) {
    if (i > 0) out += ",";
    out += "{" + JsonBytesMember("key", r.headers[i].key) + "," + JsonBytesMember("value", r.headers[i].value) + "}";
  }
  return out + "],\"timestamp_ms\":" + std::to_string(r.timestamp_ms) + "}";
}

std::string FormatOffsetHuman(uint64_t offset) { return "offset " + std::to_string(offset); }

std::string FormatOffsetJson(uint64_t offset) { return "{\"offset\":" + std::to_string(offset) + "}"; }

std::string FormatServersTable(const ClusterView& view) {
  size_t width = std::string_view("ADDRESS").size();
  for (const ServerInfo& s : view.servers) width = std::max(width, s.address.size());
  auto pad = [](std::string s, size_t w) { return s.size() < w ? s + std::string(w - s.size(), ' ') : s; };
  std::string out = pad("ID", 6) + pad("ADDRESS", width + 2) + pad("ROLE", 11) + "LEADER\n";
  for (const ServerInfo& s : view.servers) {
    bool leader = s.is_leader || (view.leader_id != 0 && s.id == view.leader_id);
    out += pad(std::to_string(s.id), 6) + pad(s.address, width + 2) + (leader ? pad(s.role, 11) + "*" : s.role) + "\n";
  }
  return out;
}

std::string FormatServersJson(const ClusterView& view) {
  std::string out = "{\"leader_id\":" + std::to_string(view.leader_id) + ",\"term\":" + std::to_string(view.term) +
                    ",\"servers\":[";
  for (size_t i = 0; i < view.servers.size(); i++) {
    const ServerInfo& s = view.servers[i];
    if (i > 0) out += ",";
    out += "{\"id\":" + std::to_string(s.id) + ",\"address\":" + JsonString(s.address) +
           ",\"role\":" + JsonString(s.role) + ",\"is_leader\":" + (s.is_leader ? "true" : "false") + "}";
  }
  return out + "]}";
}

bool ReadLineBatch(std::istream& in, size_t max_lines, size_t max_bytes, std::vector<std::string>* lines) {
  lines->clear();
  size_t bytes = 0;
  std::string line;
  while (lines->size() < max_lines && bytes < max_bytes && std::getline(in, line)) {
    bytes += line.size();
    lines->push_back(std::move(line));
  }
  return !lines->empty();
}

}  // namespace replog::cli
