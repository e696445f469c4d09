#pragma once
// QVERIFY2 with a description worked out only when the check fails. Qt's QVERIFY2 evaluates
// its description on every pass; where that runs kubectl or reads a pod's YAML, each passing
// check (and each poll of a wait) paid for a process nobody read.

#include <QtTest>

#define KD_VERIFY2(condition, description)                                  \
  do {                                                                      \
    if (!static_cast<bool>(condition)) {                                    \
      QTest::qVerify(false, #condition, (description), __FILE__, __LINE__); \
      return;                                                               \
    }                                                                       \
  } while (false)
