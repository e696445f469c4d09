#pragma once
// The view-side filter of a ResourceTableModel: one namespace (or all) and a text that must
// appear (case-insensitive) in some cell. Sorting uses ResourceTableModel::SortRole, so
// ages sort by creation time, and text sorts naturally (numbers inside it by value, so
// "web-9" < "web-10", "3 (5m ago)" < "12").

#include <QSortFilterProxyModel>

namespace kd::dashboard {

class ResourceFilterModel : public QSortFilterProxyModel {
  Q_OBJECT

 public:
  explicit ResourceFilterModel(QObject* parent = nullptr);

  void setNamespace(const QString& ns);  // "" = all namespaces
  void setText(const QString& text);
  const QString& namespaceFilter() const { return namespace_; }

 protected:
  bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;
  bool lessThan(const QModelIndex& left, const QModelIndex& right) const override;

 private:
  QString namespace_;
  QString text_;
};

}  // namespace kd::dashboard
