#include "dashboard/resource_filter_model.h"

#include "dashboard/resource_table_model.h"

namespace kd::dashboard {
namespace {

// Case-insensitive order that compares runs of digits by value: "web-9" < "web-10". (QCollator's
// numeric mode does this only with ICU and never in the C locale.)
bool naturalLess(const QString& a, const QString& b) {
  qsizetype i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i].isDigit() && b[j].isDigit()) {
      const qsizetype si = i, sj = j;
      while (i < a.size() && a[i].isDigit()) ++i;
      while (j < b.size() && b[j].isDigit()) ++j;
      QStringView na = QStringView(a).mid(si, i - si), nb = QStringView(b).mid(sj, j - sj);
      while (na.size() > 1 && na.front() == u'0') na = na.mid(1);
      while (nb.size() > 1 && nb.front() == u'0') nb = nb.mid(1);
      // Without leading zeros, the longer run of digits is the larger number.
      if (na.size() != nb.size()) return na.size() < nb.size();
      if (const int c = na.compare(nb); c != 0) return c < 0;
      continue;
    }
    const QChar ca = a[i].toCaseFolded(), cb = b[j].toCaseFolded();
    if (ca != cb) return ca < cb;
    ++i;
    ++j;
  }
  return a.size() - i < b.size() - j;
}

}  // namespace

ResourceFilterModel::ResourceFilterModel(QObject* parent) : QSortFilterProxyModel(parent) {
  setSortRole(ResourceTableModel::SortRole);
  setDynamicSortFilter(true);
}

bool ResourceFilterModel::lessThan(const QModelIndex& left, const QModelIndex& right) const {
  const QVariant l = left.data(sortRole()), r = right.data(sortRole());
  if (l.typeId() == QMetaType::QString && r.typeId() == QMetaType::QString)
    return naturalLess(l.toString(), r.toString());
  return QSortFilterProxyModel::lessThan(left, right);
}

void ResourceFilterModel::setNamespace(const QString& ns) {
  if (ns == namespace_) return;
  namespace_ = ns;
  invalidateRowsFilter();
}

void ResourceFilterModel::setText(const QString& text) {
  if (text == text_) return;
  text_ = text;
  invalidateRowsFilter();
}

bool ResourceFilterModel::filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const {
  const QAbstractItemModel* model = sourceModel();
  if (!namespace_.isEmpty()) {
    const QString ns =
        model->index(sourceRow, 0, sourceParent).data(ResourceTableModel::NamespaceRole).toString();
    if (!ns.isEmpty() && ns != namespace_) return false;
  }
  if (text_.isEmpty()) return true;
  for (int c = 0; c < model->columnCount(sourceParent); ++c) {
    if (model->index(sourceRow, c, sourceParent)
            .data()
            .toString()
            .contains(text_, Qt::CaseInsensitive))
      return true;
  }
  return false;
}

}  // namespace kd::dashboard
