#pragma once
// Running a coroutine test body on a fresh io_context, and assertions usable inside coroutines
// (gtest's ASSERT_* return, which a coroutine cannot).

#include <gtest/gtest.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <exception>
#include <functional>

#define CO_ASSERT_TRUE(cond)                     \
  if (!(cond)) {                                 \
    ADD_FAILURE() << "assertion failed: " #cond; \
    co_return;                                   \
  }

// Evaluates `r` once (it may be a co_await), into a variable first: GCC 12 miscompiles a
// co_await inside a condition.
#define CO_ASSERT_OK(r)                                                      \
  {                                                                          \
    auto&& co_assert_value_ = (r);                                           \
    if (!co_assert_value_) {                                                 \
      ADD_FAILURE() << #r " failed: " << co_assert_value_.error().message(); \
      co_return;                                                             \
    }                                                                        \
  }

namespace shfn::testing {

inline void run_coroutine(std::function<asio::awaitable<void>(asio::io_context&)> body) {
  asio::io_context io(1);
  std::exception_ptr failure;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace shfn::testing
