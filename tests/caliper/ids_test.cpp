#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "caliper_sessiond/caliper/ids.hpp"
#include "openssl_guard.hpp"

namespace caliper_sessiond::caliper {
namespace {

TEST(CanonicalEventUuid, AcceptsBareUuidAsLearnSendsIt) {
  EXPECT_EQ(canonical_event_uuid("f8c984e2-de73-4c0b-8183-779ab4149422"), "f8c984e2-de73-4c0b-8183-779ab4149422");
}

TEST(CanonicalEventUuid, StripsUrnUuidPrefixAsTheSpecSendsIt) {
  EXPECT_EQ(canonical_event_uuid("urn:uuid:fcd495d0-3740-4298-9bec-1154571dc211"),
            "fcd495d0-3740-4298-9bec-1154571dc211");
}

TEST(CanonicalEventUuid, LowercasesHexAndPrefix) {
  EXPECT_EQ(canonical_event_uuid("URN:UUID:FCD495D0-3740-4298-9BEC-1154571DC211"),
            "fcd495d0-3740-4298-9bec-1154571dc211");
}

TEST(CanonicalEventUuid, RefusesEverythingElse) {
  for (const char* id : {"", "event-42", "urn:uuid:", "fcd495d03740429891ec1154571dc211",
                         "{fcd495d0-3740-4298-9bec-1154571dc211}", "fcd495d0-3740-4298-9bec-1154571dc21",
                         "fcd495d0-3740-4298-9bec-1154571dc2111", "fcd495d0_3740-4298-9bec-1154571dc211",
                         "gcd495d0-3740-4298-9bec-1154571dc211", "urn:uuid:urn:uuid:fcd495d0-3740-4298-9bec-1154571dc211",
                         "https://example.edu/events/fcd495d0-3740-4298-9bec-1154571dc211",
                         " fcd495d0-3740-4298-9bec-1154571dc211"})
    EXPECT_EQ(canonical_event_uuid(id), std::nullopt) << id;
}

TEST(UuidV5, MatchesTheRfcExampleForDnsNamespace) {
  // RFC 9562 appendix A.4: UUIDv5 of "www.example.com" in the DNS namespace.
  constexpr std::array<std::uint8_t, 16> dns{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                             0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  EXPECT_EQ(uuid_v5(dns, "www.example.com"), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
}

TEST(UuidV5, ProjectNamespaceIsUuidV5OfItsUrn) {
  constexpr std::array<std::uint8_t, 16> url{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
                                             0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  EXPECT_EQ(uuid_v5(url, "urn:caliper-sessiond:session-event-id"), "15ac9c38-1b5d-5bed-bd4b-0d35ffe6a78a");
}

TEST(DerivedEventId, FollowsTheDocumentedNameLayout) {
  // uuid.uuid5(ns, "\0".join([source, "SessionEvent", action, user, str(us), object])) in Python.
  EXPECT_EQ(derived_event_id("moodle", session_action::logged_out, "https://moodle.example.edu/user/profile.php?id=42",
                             1551694272000000, "https://moodle.example.edu"),
            "2e6f3789-6489-5366-951b-5abe72914e3e");
}

TEST(DerivedEventId, IsStableForTheSameFields) {
  EXPECT_EQ(derived_event_id("k", session_action::logged_in, "u", 1, "o"),
            derived_event_id("k", session_action::logged_in, "u", 1, "o"));
}

TEST(DerivedEventId, ChangesWhenAnyFieldChanges) {
  const std::string base = derived_event_id("k", session_action::logged_in, "u", 1, "o").value();
  EXPECT_NE(base, derived_event_id("k2", session_action::logged_in, "u", 1, "o"));
  EXPECT_NE(base, derived_event_id("k", session_action::logged_out, "u", 1, "o"));
  EXPECT_NE(base, derived_event_id("k", session_action::logged_in, "u2", 1, "o"));
  EXPECT_NE(base, derived_event_id("k", session_action::logged_in, "u", 2, "o"));
  EXPECT_NE(base, derived_event_id("k", session_action::logged_in, "u", 1, ""));
}

TEST(DerivedEventId, FieldBoundariesAreUnambiguous) {
  EXPECT_NE(derived_event_id("ab", session_action::logged_in, "c", 1, ""),
            derived_event_id("a", session_action::logged_in, "bc", 1, ""));
}

TEST(DerivedEventId, IsAVersion5Uuid) {
  const std::string id = derived_event_id("k", session_action::timed_out, "u", 1, "o").value();
  ASSERT_EQ(id.size(), 36U);
  EXPECT_EQ(id[14], '5');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_EQ(canonical_event_uuid(id), id);
}

using sha1_unavailable = caliper_sessiond::testing::fips_only_openssl;

TEST(DerivedEventId, IsNulloptNotAConstantWhenOpenSslCannotDigest) {
  const sha1_unavailable guard;
  EXPECT_EQ(derived_event_id("k", session_action::logged_in, "u", 1, "o"), std::nullopt);
  EXPECT_EQ(derived_event_id("k", session_action::logged_in, "u2", 2, "o"), std::nullopt);
}

TEST(UuidV5, IsNulloptWhenTheDigestFails) {
  const auto failing = [](std::string_view, std::string_view, std::array<std::uint8_t, 20>&) { return false; };
  EXPECT_EQ(detail::uuid_v5(failing, event_id_namespace, "name"), std::nullopt);
}

TEST(UuidV5, SetsVersionAndVariantOnTheDigestGiven) {
  const auto ones = [](std::string_view, std::string_view, std::array<std::uint8_t, 20>& d) {
    d.fill(0xFF);
    return true;
  };
  EXPECT_EQ(detail::uuid_v5(ones, event_id_namespace, "name"), "ffffffff-ffff-5fff-bfff-ffffffffffff");
}

}  // namespace
}  // namespace caliper_sessiond::caliper
