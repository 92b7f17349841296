#pragma once

// Limits every gRPC edge of replog shares.

namespace rpc {

// The largest message a member sends or accepts on its gRPC port, and what
// the client accepts by default. A larger produce request would fail its
// whole call or stream; the client refuses it before sending.
inline constexpr int kMaxMessageBytes = 64 << 20;

}  // namespace rpc
