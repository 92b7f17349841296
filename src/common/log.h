#pragma once

// How replog logs (docs/operations.md, "Logs"): spdlog, one line per event,
// every line naming the member, and lines about a Raft group naming the
// group and the term. Two formats:
//
//   text: 2026-12-02T11:03:53.302Z [info] member 1 group log term 4: became leader
//   json: {"ts":"2026-12-02T11:03:53.302Z","level":"info","member":1,"group":"log","term":4,"msg":"became leader"}
//
// Events of a group go through common::log::Info/Warn/... with a Context;
// other lines (start, shutdown, gRPC's own) through spdlog directly, without
// group and term. At info: elections, membership changes, snapshots, storage
// recoveries, start and stop; never a line per record or request.
//
// Threads: Setup once at start, before other threads log; the rest from any
// thread (spdlog's default logger is synchronized; the context travels in a
// thread-local for the one call).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/status.h"

namespace common::log {

enum class Format { kText, kJson };

// "text" / "json"; kInvalidArgument otherwise.
Result<Format> ParseFormat(std::string_view name);

// Makes the default logger write `format` lines for member `member_id` to
// stderr, at `level` ("trace" ... "off"; kInvalidArgument otherwise), each
// line flushed at once (a member killed with SIGKILL keeps its last lines).
Status Setup(uint64_t member_id, Format format, std::string_view level);

// What a line is about: a Raft group (its name: "log", "kv") and the term.
struct Context {
  std::string_view group;
  uint64_t term = 0;
};

namespace internal {
// The context of the line being logged on this thread (nullptr: none).
const Context*& CurrentContext();
class ScopedContext {
 public:
  explicit ScopedContext(const Context& c) : saved_(CurrentContext()) { CurrentContext() = &c; }
  ~ScopedContext() { CurrentContext() = saved_; }
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  const Context* saved_;
};
}  // namespace internal

template <typename... Args>
void Log(spdlog::level::level_enum level, const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  if (!spdlog::should_log(level)) return;
  internal::ScopedContext scope(ctx);
  spdlog::log(level, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void Debug(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  Log(spdlog::level::debug, ctx, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void Info(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  Log(spdlog::level::info, ctx, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void Warn(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  Log(spdlog::level::warn, ctx, fmt, std::forward<Args>(args)...);
}
template <typename... Args>
void Error(const Context& ctx, spdlog::format_string_t<Args...> fmt, Args&&... args) {
  Log(spdlog::level::err, ctx, fmt, std::forward<Args>(args)...);
}

// The formatter Setup installs, exposed for tests: renders one message with
// the context current on this thread.
std::string FormatLine(Format format, uint64_t member_id, const spdlog::details::log_msg& msg);

}  // namespace common::log
