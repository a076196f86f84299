#pragma once
// For the sources' tests: the embedded broker in-process on a port of its own, with a data
// directory it keeps across a restart, so that a test can take it away (broker.reset()) and
// bring it back on the same address (start(listen_address())).

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "base/temp_dir.h"
#include "broker/broker.h"

namespace shfn::testing {

struct restartable_broker {
  explicit restartable_broker(const std::string& dir_prefix) : dir(dir_prefix) {}

  void start(const std::string& listen) {
    auto started = broker::broker_thread::start(
        {.listen = listen, .data_dir = dir / "data", .admin = "", .sync = broker::sync_mode::none});
    ASSERT_TRUE(started.has_value()) << "embedded broker: " << started.error().message();
    broker = std::move(*started);
    url = broker->service_url();
  }

  // "127.0.0.1:PORT" of the service URL (pulsar://127.0.0.1:PORT).
  std::string listen_address() const { return url.substr(url.find("//") + 2); }

  temp_dir dir;
  std::unique_ptr<broker::broker_thread> broker;
  std::string url;
};

}  // namespace shfn::testing
