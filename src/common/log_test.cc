#include "common/log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

namespace common::log {
namespace {

using ::testing::HasSubstr;

spdlog::details::log_msg Message(spdlog::level::level_enum level, std::string_view text) {
  spdlog::details::log_msg m("replog", level, spdlog::string_view_t(text.data(), text.size()));
  m.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'796'202'233'302));
  return m;
}

TEST(LogTest, TextLinesNameTheMemberAndWithAContextTheGroupAndTerm) {
  EXPECT_EQ(FormatLine(Format::kText, 3, Message(spdlog::level::info, "serving")),
            "2026-12-02T09:03:53.302Z [info] member 3: serving\n");
  const Context ctx{.group = "kv", .term = 7};
  internal::ScopedContext scope(ctx);
  EXPECT_EQ(FormatLine(Format::kText, 3, Message(spdlog::level::warn, "became leader")),
            "2026-12-02T09:03:53.302Z [warning] member 3 group kv term 7: became leader\n");
}

TEST(LogTest, JsonLinesAreOneObjectWithTheMessageEscaped) {
  EXPECT_EQ(FormatLine(Format::kJson, 1, Message(spdlog::level::info, "a \"quoted\"\tline\\\n")),
            "{\"ts\":\"2026-12-02T09:03:53.302Z\",\"level\":\"info\",\"member\":1,"
            "\"msg\":\"a \\\"quoted\\\"\\tline\\\\\\n\"}\n");
  const Context ctx{.group = "log", .term = 12};
  internal::ScopedContext scope(ctx);
  EXPECT_EQ(FormatLine(Format::kJson, 2, Message(spdlog::level::err, std::string_view("x\x01", 2))),
            "{\"ts\":\"2026-12-02T09:03:53.302Z\",\"level\":\"error\",\"member\":2,\"group\":\"log\",\"term\":12,"
            "\"msg\":\"x\\u0001\"}\n");
}

TEST(LogTest, TheContextLastsForOneCallOnly) {
  {
    const Context ctx{.group = "log", .term = 1};
    internal::ScopedContext scope(ctx);
    EXPECT_NE(internal::CurrentContext(), nullptr);
  }
  EXPECT_EQ(internal::CurrentContext(), nullptr);
}

TEST(LogTest, BadFormatsAndLevelsAreErrors) {
  EXPECT_TRUE(ParseFormat("json").has_value());
  EXPECT_THAT(ParseFormat("yaml").error().message(), HasSubstr("use text or json"));
  EXPECT_THAT(log::Setup(1, Format::kText, "loud").message(), HasSubstr("use trace, debug"));
  EXPECT_TRUE(log::Setup(1, Format::kText, "off").ok());
}

}  // namespace
}  // namespace common::log
