// Tenants and namespaces: the store on its own (what it starts with, what survives a reopen, a
// damaged file), then the admin API's routes for them against a real broker in-process. What
// pulsar-admin prints for the same commands, compared with Pulsar standalone's, is checked in
// tests/interop/test_pulsar_admin.py.

#include "broker/tenancy.h"

#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/temp_dir.h"
#include "broker/broker.h"
#include "http/tests/http_client.h"
#include "storage/layout.h"
#include "wire/topic_name.h"

namespace shfn::broker {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using http::testing::endpoint_of;
using http::testing::request;
using tcp = asio::ip::tcp;

std::vector<std::string> names(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

// ------------------------------------------------------------------------------ the store

TEST(tenancy, starts_with_pulsar_standalones_tenants_and_namespaces) {
  temp_dir dir("shfn-tenancy");
  auto t = tenancy::open(dir.path());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->tenants(), names({"public", "pulsar"}));
  EXPECT_EQ(t->namespaces("public").value(), names({"public/default"}));
  EXPECT_EQ(t->namespaces("pulsar").value(), names({"pulsar/system"}));
  EXPECT_TRUE(fs::exists(dir.path() / "tenancy.json")) << "written at once";
}

// A data directory from before tenants were kept: every namespace holding topics stays usable.
TEST(tenancy, adopts_the_namespaces_that_hold_topics_on_disk) {
  temp_dir dir("shfn-tenancy");
  for (const char* topic : {"persistent://acme/orders/t", "non-persistent://acme/live/t",
                            "persistent://public/old/t"}) {
    fs::create_directories(storage::topic_dir(dir.path(), *wire::parse_topic_name(topic)));
  }
  auto t = tenancy::open(dir.path());
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->tenants(), names({"acme", "public", "pulsar"}));
  EXPECT_EQ(t->namespaces("acme").value(), names({"acme/live", "acme/orders"}));
  EXPECT_EQ(t->namespaces("public").value(), names({"public/default", "public/old"}));
}

TEST(tenancy, every_change_survives_a_reopen) {
  temp_dir dir("shfn-tenancy");
  {
    auto t = tenancy::open(dir.path()).value();
    ASSERT_TRUE(t.create_tenant("acme", {.admin_roles = {"ops"}}));
    ASSERT_TRUE(t.create_namespace("acme", "orders"));
    ASSERT_TRUE(t.create_namespace("acme", "gone"));
    ASSERT_TRUE(t.remove_namespace("acme", "gone"));
    ASSERT_TRUE(t.set_policy("acme", "orders", "retention_policies",
                             {{"retentionTimeInMinutes", 60}, {"retentionSizeInMB", -1}}));
    ASSERT_TRUE(t.set_policy("acme", "orders", "deduplicationEnabled", true));
    ASSERT_TRUE(t.set_policy("acme", "orders", "deduplicationEnabled", nullptr));
  }
  auto t = tenancy::open(dir.path()).value();
  ASSERT_NE(t.tenant("acme"), nullptr);
  EXPECT_EQ(t.tenant("acme")->admin_roles, names({"ops"}));
  EXPECT_EQ(t.namespaces("acme").value(), names({"acme/orders"}));
  EXPECT_EQ(t.policy("acme", "orders", "retention_policies"),
            json({{"retentionTimeInMinutes", 60}, {"retentionSizeInMB", -1}}));
  EXPECT_FALSE(t.policy("acme", "orders", "deduplicationEnabled")) << "removed stays removed";
  auto doc = t.policies("acme", "orders").value();
  EXPECT_EQ(doc["retention_policies"]["retentionTimeInMinutes"], 60);
  EXPECT_EQ(doc["replication_clusters"], json({"standalone"}));
  EXPECT_FALSE(doc.contains("deduplicationEnabled"));
}

TEST(tenancy, refuses_what_pulsar_refuses) {
  temp_dir dir("shfn-tenancy");
  auto t = tenancy::open(dir.path()).value();
  EXPECT_EQ(t.create_tenant("public", {}).error(), tenancy_errc::tenant_exists);
  EXPECT_EQ(t.create_tenant("bad/name", {}).error(), tenancy_errc::bad_name);
  EXPECT_EQ(t.remove_tenant("public").error(), tenancy_errc::tenant_not_empty);
  EXPECT_EQ(t.remove_tenant("nobody").error(), tenancy_errc::tenant_not_found);
  EXPECT_EQ(t.create_namespace("nobody", "ns").error(), tenancy_errc::tenant_not_found);
  EXPECT_EQ(t.create_namespace("public", "default").error(), tenancy_errc::namespace_exists);
  EXPECT_EQ(t.remove_namespace("public", "nothing").error(), tenancy_errc::namespace_not_found);
  EXPECT_EQ(t.set_policy("public", "nothing", "x", 1).error(), tenancy_errc::namespace_not_found);
}

TEST(tenancy, a_damaged_file_is_an_error_not_a_fresh_start) {
  temp_dir dir("shfn-tenancy");
  std::ofstream(dir.path() / "tenancy.json") << R"({"tenants": {"acme": {"adminRoles": 3}}})";
  auto t = tenancy::open(dir.path());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error(), tenancy_errc::corrupt_file);
}

// ------------------------------------------------------------------------------ the admin API

class tenancy_api : public ::testing::Test {
 protected:
  void SetUp() override { start(); }
  void start() {
    broker_.reset();
    auto started = broker_thread::start(
        {.listen = "127.0.0.1:0", .data_dir = dir_.path(), .admin = "127.0.0.1:0"});
    ASSERT_TRUE(started.has_value()) << started.error().message();
    broker_ = std::move(*started);
    admin_ = endpoint_of(broker_->admin_url());
  }
  http::testing::http_reply call(const std::string& method, const std::string& path,
                                 const std::string& body = "") {
    return request(admin_, method, "/admin/v2/" + path, body);
  }

  temp_dir dir_{"shfn-tenancy-api"};
  std::unique_ptr<broker_thread> broker_;
  tcp::endpoint admin_;
};

TEST_F(tenancy_api, tenants_and_namespaces_round_trip_and_persist) {
  EXPECT_EQ(call("GET", "tenants").body_json(), json({"public", "pulsar"}));
  EXPECT_EQ(
      call("PUT", "tenants/acme", R"({"adminRoles":["ops"],"allowedClusters":["standalone"]})")
          .status,
      204);
  auto again = call("PUT", "tenants/acme", "{}");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.body_json()["reason"], "Tenant already exist");
  EXPECT_EQ(call("PUT", "tenants/other", R"({"allowedClusters":["elsewhere"]})").status, 412);
  EXPECT_EQ(call("PUT", "namespaces/acme/orders").status, 204);
  EXPECT_EQ(call("PUT", "namespaces/nobody/orders").status, 404);
  EXPECT_EQ(call("GET", "namespaces/acme").body_json(), json({"acme/orders"}));
  EXPECT_EQ(call("DELETE", "tenants/acme").status, 409) << "it has a namespace";

  start();  // a restart keeps them
  EXPECT_EQ(call("GET", "tenants/acme").body_json(),
            json({{"adminRoles", {"ops"}}, {"allowedClusters", {"standalone"}}}));
  EXPECT_EQ(call("GET", "namespaces/acme/orders").body_json()["bundles"]["numBundles"], 4);
  EXPECT_EQ(call("PUT", "persistent/acme/orders/t").status, 204);
  EXPECT_EQ(call("DELETE", "namespaces/acme/orders").status, 409) << "it holds a topic";
  EXPECT_EQ(call("DELETE", "persistent/acme/orders/t").status, 204);
  EXPECT_EQ(call("DELETE", "namespaces/acme/orders").status, 204);
  EXPECT_EQ(call("DELETE", "tenants/acme").status, 204);
  EXPECT_EQ(call("GET", "tenants/acme").status, 404);
}

TEST_F(tenancy_api, topics_need_their_namespace) {
  auto refused = call("PUT", "persistent/public/nowhere/t");
  EXPECT_EQ(refused.status, 404);
  EXPECT_EQ(refused.body_json()["reason"], "Namespace not found");
  EXPECT_EQ(call("GET", "persistent/public/nowhere").status, 404);
  EXPECT_EQ(call("PUT", "persistent/public/nowhere/t/partitions", "2").status, 404);
}

TEST_F(tenancy_api, policies_it_honours_are_kept_and_the_others_refused_by_name) {
  const std::string ns = "namespaces/public/default/";
  EXPECT_EQ(call("GET", ns + "retention").status, 200);
  EXPECT_EQ(call("GET", ns + "retention").body, "") << "never set: no body, as Pulsar";
  EXPECT_EQ(call("GET", ns + "retention").field("content-type"), "");
  EXPECT_EQ(
      call("POST", ns + "retention", R"({"retentionTimeInMinutes":180,"retentionSizeInMB":-1})")
          .status,
      204);
  EXPECT_EQ(call("GET", ns + "retention").body_json(),
            json({{"retentionTimeInMinutes", 180}, {"retentionSizeInMB", -1}}));
  EXPECT_EQ(call("POST", ns + "deduplication", "true").status, 204);
  EXPECT_EQ(call("POST", ns + "autoTopicCreation", R"({"allowAutoTopicCreation":false})").status,
            204);
  EXPECT_EQ(call("GET", ns + "schemaCompatibilityStrategy").body_json(), "UNDEFINED");
  EXPECT_EQ(call("PUT", ns + "schemaCompatibilityStrategy", R"("BACKWARD_TRANSITIVE")").status,
            204);
  EXPECT_EQ(call("GET", ns + "schemaCompatibilityStrategy").body_json(), "BACKWARD_TRANSITIVE");
  EXPECT_EQ(call("PUT", ns + "schemaCompatibilityStrategy", R"("backward")").status, 400);
  EXPECT_EQ(call("GET", ns + "isAllowAutoUpdateSchema").body_json(), true);
  EXPECT_EQ(call("POST", ns + "isAllowAutoUpdateSchema", "false").status, 204);
  EXPECT_EQ(call("GET", ns + "isAllowAutoUpdateSchema").body_json(), false);
  EXPECT_EQ(call("GET", ns + "schemaValidationEnforced").body_json(), false);
  EXPECT_EQ(call("POST", ns + "schemaValidationEnforced", "\"yes\"").status, 400);
  EXPECT_EQ(call("GET", ns + "schemaAutoUpdateCompatibilityStrategy").body, "");
  EXPECT_EQ(call("PUT", ns + "schemaAutoUpdateCompatibilityStrategy", R"("Forward")").status, 204);

  for (const auto& [policy, method, value] :
       {std::tuple{"deduplication", "POST", "false"},
        std::tuple{"autoTopicCreation", "POST",
                   R"({"allowAutoTopicCreation":true,"topicType":"partitioned"})"}}) {
    SCOPED_TRACE(policy);
    auto refused = call(method, ns + policy, value);
    EXPECT_EQ(refused.status, 501);
    EXPECT_NE(refused.body_json()["reason"].get<std::string>().find("does not implement"),
              std::string::npos);
  }
  EXPECT_EQ(call("POST", ns + "messageTTL", "\"soon\"").status, 400);
  EXPECT_EQ(call("POST", ns + "messageTTL", "120").status, 204);
  EXPECT_EQ(call("GET", ns + "messageTTL").body, "120");
  EXPECT_EQ(call("POST", ns + "retention", "{").status, 400);

  auto doc = call("GET", "namespaces/public/default").body_json();
  EXPECT_EQ(doc["retention_policies"]["retentionTimeInMinutes"], 180) << "unchanged by refusals";
  EXPECT_EQ(doc["deduplicationEnabled"], true);
  EXPECT_EQ(doc["autoTopicCreationOverride"]["allowAutoTopicCreation"], false)
      << "the refused partitioned auto-creation left the earlier value";
  EXPECT_EQ(doc["message_ttl_in_seconds"], 120);
  EXPECT_EQ(doc["schema_compatibility_strategy"], "BACKWARD_TRANSITIVE");
  EXPECT_EQ(doc["is_allow_auto_update_schema"], false);
  EXPECT_EQ(doc["schema_auto_update_compatibility_strategy"], "Forward");
  EXPECT_EQ(call("DELETE", ns + "retention").status, 204);
  EXPECT_EQ(call("GET", ns + "retention").body, "");
}

TEST_F(tenancy_api, the_cluster_and_its_broker) {
  EXPECT_EQ(call("GET", "clusters").body_json(), json({"standalone"}));
  auto cluster = call("GET", "clusters/standalone").body_json();
  EXPECT_EQ(cluster["serviceUrl"], broker_->admin_url());
  EXPECT_EQ(cluster["brokerServiceUrl"], broker_->service_url());
  EXPECT_EQ(call("GET", "clusters/elsewhere").status, 404);
  const std::string id = broker_->admin_url().substr(std::string("http://").size());
  EXPECT_EQ(call("GET", "brokers/standalone").body_json(), json({id}));
  EXPECT_EQ(call("GET", "brokers/leaderBroker").body_json()["brokerId"], id);
  EXPECT_EQ(call("GET", "brokers/configuration/runtime").body_json()["clusterName"], "standalone");
}

// The HTTP lookup service: every topic of a namespace that exists is served here.
TEST_F(tenancy_api, http_lookup_names_this_broker) {
  auto found = request(admin_, "GET", "/lookup/v2/topic/persistent/public/default/t");
  EXPECT_EQ(found.status, 200);
  EXPECT_EQ(found.body_json(), json({{"brokerUrl", broker_->service_url()},
                                     {"httpUrl", broker_->admin_url()},
                                     {"nativeUrl", broker_->service_url()},
                                     {"brokerUrlSsl", ""}}));
  EXPECT_EQ(request(admin_, "GET", "/lookup/v2/topic/persistent/public/nowhere/t").status, 404);
}

}  // namespace
}  // namespace shfn::broker
