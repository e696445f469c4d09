#pragma once
// ResourceTableModel: the live table of one kind, fed by InformerBridge batches. Columns and
// cells come from the engine's own printer (engine/api/table.h), so the dashboard shows what
// `kubectl get` shows; namespaced kinds get a leading Namespace column (as with `-A`). The Age
// column is computed from metadata.creationTimestamp at paint time and refreshed every second.
// The Status cell carries a colour and an icon by health (status_style.h).
//
// Roles beyond Qt's: KeyRole (objectKey), NamespaceRole, SortRole (numbers as numbers, ages
// by creation time, other text as shown). GUI thread only.

#include <QAbstractTableModel>
#include <QDateTime>
#include <QStringList>
#include <QTimer>
#include <unordered_map>
#include <vector>

#include "dashboard/informer_bridge.h"
#include "dashboard/status_style.h"

namespace kd::dashboard {

class ResourceTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Role { KeyRole = Qt::UserRole + 1, NamespaceRole, SortRole };

  explicit ResourceTableModel(const api::KindInfo& kind, QObject* parent = nullptr);

  const api::KindInfo& kind() const { return kind_; }
  // Applies one coalesced batch: deletes, then in-place updates, then appends.
  void applyBatch(const ChangeBatch& batch);
  // Follows `bridge` from now on (its batches arrive through applyBatch).
  void follow(InformerBridge* bridge);

  api::CachedObject objectAt(int row) const;
  int rowOfKey(const std::string& key) const;    // -1 when absent
  int columnNamed(const QString& header) const;  // -1 when absent
  Health healthAt(int row) const;

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

 signals:
  void countChanged(int rows);

 private:
  struct Column {
    QString name;
    QString type;    // "string", "integer", "number", "date" (table column types)
    int tableIndex;  // cell index in the printer's row; -1 = the Namespace column
  };
  struct Row {
    std::string key;
    api::CachedObject object;
    QStringList cells;  // one per Column
    QDateTime created;
    Health health = Health::Unknown;
  };

  // `cells` is the printer's row for `change.object`.
  Row makeRow(const ObjectChange& change, const json& cells) const;
  // The rows of `changes` (each with an object), in order.
  std::vector<Row> makeRows(const std::vector<const ObjectChange*>& changes) const;
  QVariant sortKey(const Row& row, int column) const;
  QString ageText(const Row& row) const;
  void dropRows(std::vector<int> rows);
  void reindex();
  void tick();

  const api::KindInfo kind_;
  std::vector<Column> columns_;
  int ageColumn_ = -1;
  int statusColumn_ = -1;
  std::vector<Row> rows_;
  std::unordered_map<std::string, int> index_;
  QDateTime now_;
  QTimer ageTimer_;
};

}  // namespace kd::dashboard
