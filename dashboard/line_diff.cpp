#include "dashboard/line_diff.h"

#include <algorithm>
#include <vector>

namespace kd::dashboard {
namespace {

enum class Op { Same, Removed, Added };

struct Line {
  Op op;
  int before, after;  // 0-based line numbers in each text (of the line, or where it would be)
  QString text;
};

// Every line of both texts in order, each marked same, removed or added.
std::vector<Line> diffLines(const QStringList& a, const QStringList& b) {
  int prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix]) ++prefix;
  int suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix]) {
    ++suffix;
  }
  const int n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  // lcs[i][j]: the common subsequence length of a[prefix+i..] and b[prefix+j..].
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (int i = n - 1; i >= 0; --i) {
    for (int j = m - 1; j >= 0; --j) {
      lcs[i][j] = a[prefix + i] == b[prefix + j] ? lcs[i + 1][j + 1] + 1
                                                 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::vector<Line> out;
  for (int k = 0; k < prefix; ++k) out.push_back({Op::Same, k, k, a[k]});
  int i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
      out.push_back({Op::Same, prefix + i, prefix + j, a[prefix + i]});
      ++i, ++j;
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back({Op::Removed, prefix + i, prefix + j, a[prefix + i]});
      ++i;
    } else {
      out.push_back({Op::Added, prefix + i, prefix + j, b[prefix + j]});
      ++j;
    }
  }
  for (int k = 0; k < suffix; ++k) {
    out.push_back({Op::Same, prefix + n + k, prefix + m + k, a[prefix + n + k]});
  }
  return out;
}

QStringList linesOf(const QString& text) {
  QStringList lines = text.split('\n');
  if (!lines.isEmpty() && lines.back().isEmpty()) lines.pop_back();
  return lines;
}

// "@@ -3,7 +3,8 @@" for `count` lines of each side starting at (0-based) `from`; diff writes
// an empty side's start as the line before it.
QString hunkRange(int from, int count) {
  if (count == 1) return QString::number(from + 1);
  return QStringLiteral("%1,%2").arg(count == 0 ? from : from + 1).arg(count);
}

}  // namespace

QString unifiedDiff(const QString& before, const QString& after, const QString& beforeName,
                    const QString& afterName, int context) {
  const std::vector<Line> lines = diffLines(linesOf(before), linesOf(after));
  QString out;
  size_t k = 0;
  while (k < lines.size()) {
    while (k < lines.size() && lines[k].op == Op::Same) ++k;
    if (k == lines.size()) break;
    // A hunk: `context` lines before the change, up to the first run of more than 2*context
    // unchanged lines after it.
    const size_t start = k >= size_t(context) ? k - context : 0;
    size_t end = k;
    while (end < lines.size()) {
      size_t same = 0;
      while (end + same < lines.size() && lines[end + same].op == Op::Same) ++same;
      if (end + same == lines.size() || same > size_t(2 * context)) {
        end += std::min(same, size_t(context));
        break;
      }
      end += same;
      while (end < lines.size() && lines[end].op != Op::Same) ++end;
    }
    int beforeCount = 0, afterCount = 0;
    for (size_t x = start; x < end; ++x) {
      if (lines[x].op != Op::Added) ++beforeCount;
      if (lines[x].op != Op::Removed) ++afterCount;
    }
    if (out.isEmpty()) out = "--- " + beforeName + "\n+++ " + afterName + "\n";
    out += QStringLiteral("@@ -%1 +%2 @@\n")
               .arg(hunkRange(lines[start].before, beforeCount),
                    hunkRange(lines[start].after, afterCount));
    for (size_t x = start; x < end; ++x) {
      const char mark = lines[x].op == Op::Same ? ' ' : lines[x].op == Op::Removed ? '-' : '+';
      out += QChar(mark) + lines[x].text + '\n';
    }
    k = end;
  }
  return out;
}

}  // namespace kd::dashboard
