#pragma once
// Waiting for asynchronous work in tests. Qt's QTRY_* give up after 5 s, which CI's two
// cores can exceed when TCG guests of another test share them (a daemonset_controller_test
// wait of 5 s ran out there while the same test takes 0.6 s alone). These wait longer; the
// timeout only bounds a failure, it asserts nothing about speed.

#include <QtTest>

namespace kd::testing {
inline constexpr int kSettleMs = 30000;
}  // namespace kd::testing

#define KD_TRY_COMPARE(actual, expected) \
  QTRY_COMPARE_WITH_TIMEOUT(actual, expected, ::kd::testing::kSettleMs)
#define KD_TRY_VERIFY(expr) QTRY_VERIFY_WITH_TIMEOUT(expr, ::kd::testing::kSettleMs)
