#include "common/log.h"

#include <chrono>
#include <ctime>
#include <memory>

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace common::log {
namespace {

// "2026-12-02T11:03:53.302Z" (UTC).
void AppendTime(std::chrono::system_clock::time_point t, std::string* out) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  out->append(buf, n);
  out->append(fmt::format(".{:03d}Z", static_cast<int>(ms % 1000)));
}

// `s` as the inside of a JSON string.
void AppendJsonEscaped(std::string_view s, std::string* out) {
  for (const char c : s) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append(fmt::format("\\u{:04x}", static_cast<int>(c)));
        } else {
          out->push_back(c);
        }
    }
  }
}

class LineFormatter final : public spdlog::formatter {
 public:
  LineFormatter(Format format, uint64_t member) : format_(format), member_(member) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string line = FormatLine(format_, member_, msg);
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<LineFormatter>(format_, member_); }

 private:
  const Format format_;
  const uint64_t member_;
};

}  // namespace

namespace internal {
const Context*& CurrentContext() {
  thread_local const Context* current = nullptr;
  return current;
}
}  // namespace internal

Result<Format> ParseFormat(std::string_view name) {
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return InvalidArgumentError("log format '" + std::string(name) + "': use text or json");
}

std::string FormatLine(Format format, uint64_t member_id, const spdlog::details::log_msg& msg) {
  const Context* ctx = internal::CurrentContext();
  const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
  const std::string_view text(msg.payload.data(), msg.payload.size());
  std::string out;
  out.reserve(text.size() + 96);
  if (format == Format::kJson) {
    out.append("{\"ts\":\"");
    AppendTime(msg.time, &out);
    out.append("\",\"level\":\"").append(level.data(), level.size());
    out.append("\",\"member\":").append(std::to_string(member_id));
    if (ctx != nullptr) {
      out.append(",\"group\":\"");
      AppendJsonEscaped(ctx->group, &out);
      out.append("\",\"term\":").append(std::to_string(ctx->term));
    }
    out.append(",\"msg\":\"");
    AppendJsonEscaped(text, &out);
    out.append("\"}\n");
    return out;
  }
  AppendTime(msg.time, &out);
  out.append(" [").append(level.data(), level.size()).append("] member ").append(std::to_string(member_id));
  if (ctx != nullptr) {
    out.append(" group ").append(ctx->group).append(" term ").append(std::to_string(ctx->term));
  }
  out.append(": ").append(text).append("\n");
  return out;
}

Status Setup(uint64_t member_id, Format format, std::string_view level) {
  const spdlog::level::level_enum l = spdlog::level::from_str(std::string(level));
  if (l == spdlog::level::off && level != "off") {
    return InvalidArgumentError("log level '" + std::string(level) + "': use trace, debug, info, warn, error or off");
  }
  auto logger = std::make_shared<spdlog::logger>("replog", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::make_unique<LineFormatter>(format, member_id));
  logger->set_level(l);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace common::log
