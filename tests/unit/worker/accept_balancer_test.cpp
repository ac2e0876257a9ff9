// Tests for AcceptBalancer over a plain array of slots standing in for the stats segment.
#include "worker/accept_balancer.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace minid {
namespace {

class AcceptBalancerTest : public ::testing::Test {
  protected:
    static constexpr uint64_t kNow = 100'000;
    std::vector<WorkerSlot> slots = std::vector<WorkerSlot>(8);

    void live(size_t i, uint64_t generation, uint64_t conns, uint64_t beat = kNow) {
        slots[i].state = static_cast<uint64_t>(WorkerState::serving);
        slots[i].generation = generation;
        slots[i].connections_active = conns;
        slots[i].heartbeat_ms = beat;
        slots[i].pid = 1000 + i;
    }
};

TEST_F(AcceptBalancerTest, AloneNeverDefers) {
    live(0, 1, 0);
    AcceptBalancer b(slots.data(), slots.size(), 0);
    b.refresh(kNow);
    EXPECT_EQ(b.sibling_count(), 0u);
    EXPECT_FALSE(b.should_defer(1000));
}

TEST_F(AcceptBalancerTest, DefersToALessLoadedSiblingBeyondTheSlack) {
    live(0, 1, 0);
    live(3, 1, 10);
    AcceptBalancer b(slots.data(), slots.size(), 0);
    b.refresh(kNow);
    EXPECT_EQ(b.sibling_count(), 1u);
    EXPECT_FALSE(b.should_defer(12));  // within the slack of 2
    EXPECT_TRUE(b.should_defer(13));
    slots[3].connections_active = 20;  // read live, without a refresh
    EXPECT_FALSE(b.should_defer(13));
}

TEST_F(AcceptBalancerTest, SlackGrowsWithLoad) {
    live(0, 1, 0);
    live(1, 1, 1000);
    AcceptBalancer b(slots.data(), slots.size(), 0);
    b.refresh(kNow);
    EXPECT_FALSE(b.should_defer(1060));  // 1060 / 16 = 66 of slack
    EXPECT_TRUE(b.should_defer(1080));
}

TEST_F(AcceptBalancerTest, IgnoresOtherGenerationsDrainingAndStaleSiblings) {
    live(0, 2, 0);
    live(1, 1, 0);  // old generation
    live(2, 2, 0);
    slots[2].state = static_cast<uint64_t>(WorkerState::draining);
    live(4, 2, 0, kNow - AcceptBalancer::kFreshMs - 1);  // hung: heartbeat too old
    AcceptBalancer b(slots.data(), slots.size(), 0);
    b.refresh(kNow);
    EXPECT_EQ(b.sibling_count(), 0u);
    EXPECT_FALSE(b.should_defer(500));
}

TEST_F(AcceptBalancerTest, WithoutAStatsSegmentNothingHappens) {
    AcceptBalancer b(nullptr, 0, 0);
    b.refresh(kNow);
    EXPECT_FALSE(b.should_defer(100));
}

}  // namespace
}  // namespace minid
