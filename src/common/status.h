#pragma once

// Status and Result<T>: how every replog API reports failure.
//
// A Status is a code (following gRPC's) and a human message. Result<T> holds a
// T or a non-OK Status and is spelled like std::expected (has_value(), value(),
// error(), *, ->), which needs C++23 in GCC 12. Both are [[nodiscard]].
// No exceptions cross our APIs: a broken invariant is a bug and CHECK aborts.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace common {

enum class Code : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "DATA_LOSS: bad checksum in 0001.log at 4096".
  std::string ToString() const;

  // Returns a copy whose message is "context: message"; OK stays OK.
  Status WithContext(std::string_view context) const;

  // Marks a deliberately ignored status (best-effort cleanup paths).
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFoundError(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status AlreadyExistsError(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
inline Status OutOfRangeError(std::string m) { return {Code::kOutOfRange, std::move(m)}; }
inline Status FailedPreconditionError(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status ResourceExhaustedError(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status UnavailableError(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DataLossError(std::string m) { return {Code::kDataLoss, std::move(m)}; }
inline Status InternalError(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status AbortedError(std::string m) { return {Code::kAborted, std::move(m)}; }
inline Status DeadlineExceededError(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }

// A value of type T, or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    if (std::get<1>(v_).ok()) {
      std::fprintf(stderr, "Result constructed from an OK Status\n");
      std::abort();
    }
  }

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }

  const Status& error() const& { return std::get<1>(v_); }
  Status&& error() && { return std::get<1>(std::move(v_)); }

  // OK when a value is held; the error otherwise.
  Status status() const { return has_value() ? Status::Ok() : std::get<1>(v_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) { return r.status(); }
[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const std::string& msg);
}  // namespace internal

}  // namespace common

#define REPLOG_CONCAT_INNER(a, b) a##b
#define REPLOG_CONCAT(a, b) REPLOG_CONCAT_INNER(a, b)

// Returns the Status of `expr` (a Status or Result) from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                                              \
  do {                                                                     \
    ::common::Status replog_status_ = ::common::internal::AsStatus(expr);  \
    if (!replog_status_.ok()) return replog_status_;                       \
  } while (0)

// Evaluates `rexpr` (a Result<T>); on error returns its Status, else moves the value into `lhs`.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  ASSIGN_OR_RETURN_IMPL(REPLOG_CONCAT(replog_result_, __LINE__), lhs, rexpr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                          \
  if (!tmp.has_value()) return std::move(tmp).error(); \
  lhs = std::move(tmp).value()

// Aborts with a message when a broken invariant shows a bug.
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) ::common::internal::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)
#define CHECK_MSG(cond, msg)                                                       \
  do {                                                                             \
    if (!(cond)) ::common::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
#define CHECK_OK(expr)                                                          \
  do {                                                                          \
    ::common::Status replog_check_ = ::common::internal::AsStatus(expr);        \
    if (!replog_check_.ok())                                                    \
      ::common::internal::CheckFailed(__FILE__, __LINE__, #expr, replog_check_.ToString()); \
  } while (0)
