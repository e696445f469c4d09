#pragma once
// A line diff of two texts (longest common subsequence), printed as `diff -u` prints it: the
// manifest editor's "Diff" shows the live objects against what Apply would make of them.

#include <QString>
#include <QStringList>

namespace kd::dashboard {

// The unified diff of `before` and `after` with `context` lines around each change, headed
// "--- <beforeName>" / "+++ <afterName>"; empty when the texts are equal. Texts longer than a
// few thousand lines are compared in full but more slowly (quadratic in the changed middle).
QString unifiedDiff(const QString& before, const QString& after, const QString& beforeName,
                    const QString& afterName, int context = 3);

}  // namespace kd::dashboard
