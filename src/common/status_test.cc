#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace common {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.ToString(), "OK");
  EXPECT_EQ(s, Status::Ok());
}

TEST(StatusTest, ToStringNamesTheCode) {
  EXPECT_EQ(DataLossError("bad checksum in 0001.log at 4096").ToString(),
            "DATA_LOSS: bad checksum in 0001.log at 4096");
  EXPECT_EQ(CodeName(Code::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_EQ(CodeName(Code::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(CodeName(static_cast<Code>(99)), "UNKNOWN_CODE");
}

TEST(StatusTest, HelpersSetTheirCode) {
  EXPECT_EQ(InvalidArgumentError("x").code(), Code::kInvalidArgument);
  EXPECT_EQ(NotFoundError("x").code(), Code::kNotFound);
  EXPECT_EQ(AlreadyExistsError("x").code(), Code::kAlreadyExists);
  EXPECT_EQ(OutOfRangeError("x").code(), Code::kOutOfRange);
  EXPECT_EQ(FailedPreconditionError("x").code(), Code::kFailedPrecondition);
  EXPECT_EQ(ResourceExhaustedError("x").code(), Code::kResourceExhausted);
  EXPECT_EQ(UnavailableError("x").code(), Code::kUnavailable);
  EXPECT_EQ(DataLossError("x").code(), Code::kDataLoss);
  EXPECT_EQ(InternalError("x").code(), Code::kInternal);
  EXPECT_EQ(AbortedError("x").code(), Code::kAborted);
}

TEST(StatusTest, WithContextPrefixesTheMessage) {
  Status s = NotFoundError("no file").WithContext("open segment 3");
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_EQ(s.message(), "open segment 3: no file");
  EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
  EXPECT_EQ(Status::Ok().WithContext("ignored").message(), "");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(InternalError("a"), InternalError("a"));
  EXPECT_FALSE(InternalError("a") == InternalError("b"));
  EXPECT_FALSE(InternalError("a") == DataLossError("a"));
}

TEST(ResultTest, HoldsAValue) {
  Result<std::string> r = std::string("v");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, "v");
  EXPECT_EQ(r->size(), 1u);
  EXPECT_TRUE(r.status().ok());
}

TEST(ResultTest, HoldsAnError) {
  Result<int> r = NotFoundError("gone");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_EQ(r.status(), NotFoundError("gone"));
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(ResultDeathTest, ConstructingFromOkStatusAborts) {
  EXPECT_DEATH({ Result<int> r{Status::Ok()}; (void)r; }, "OK Status");
}

Status FailIfNegative(int x) { return x < 0 ? InvalidArgumentError("negative") : Status::Ok(); }
Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd");
  return x / 2;
}

Status Chain(int x, int* out) {
  RETURN_IF_ERROR(FailIfNegative(x));
  ASSIGN_OR_RETURN(int half, Half(x));
  RETURN_IF_ERROR(Half(half));
  *out = half;
  return Status::Ok();
}

TEST(StatusMacrosTest, ReturnEarlyOnError) {
  int out = 0;
  EXPECT_EQ(Chain(-2, &out).message(), "negative");
  EXPECT_EQ(Chain(3, &out).message(), "odd");
  EXPECT_EQ(Chain(6, &out).message(), "odd");  // RETURN_IF_ERROR takes a Result too
  EXPECT_EQ(out, 0);
  ASSERT_TRUE(Chain(8, &out).ok());
  EXPECT_EQ(out, 4);
}

TEST(CheckDeathTest, CheckAbortsWithTheExpression) {
  EXPECT_DEATH(CHECK(1 + 1 == 3), "CHECK failed .*1 \\+ 1 == 3");
  EXPECT_DEATH(CHECK_OK(InternalError("boom")), "INTERNAL: boom");
}

}  // namespace
}  // namespace common
