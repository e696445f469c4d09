#pragma once
// ResourceTableModel: the live table of one kind, fed by InformerBridge batches. Columns and
// cells come from the engine's own printer (engine/api/table.h), so the dashboard shows what
// `kubectl get` shows; namespaced kinds get a leading Namespace column (as with `-A`). The Age
// column is computed from metadata.creationTimestamp at paint time and refreshed every second.
// The Status cell carries a colour and an icon by health (status_style.h).
//
// Roles beyond Qt's: KeyRole (objectKey), NamespaceRole, SortRole (numbers as numbers, ages
// by creation time, other text as shown). GUI thread only.
//
// Batches that arrive through follow() are turned into rows (the printer's cells, parsed
// times, health) on a worker thread, one batch after another; the GUI thread only applies
// ready rows, a slice at a time (at most kSliceRows rows, then more only while a turn stays
// under kSliceTime), so that ten thousand new pods or a rollout never hold it for long. The
// objects of rows deleted or replaced are let go on that worker thread too: the row held the
// last reference, and freeing a pod's parsed JSON cost the GUI thread more than moving rows.

#include <QAbstractTableModel>
#include <QDateTime>
#include <QStringList>
#include <QThreadPool>
#include <QTimer>
#include <chrono>
#include <deque>
#include <unordered_map>
#include <vector>

#include "dashboard/informer_bridge.h"
#include "dashboard/status_style.h"

namespace kd::dashboard {

class ResourceTableModel : public QAbstractTableModel {
  Q_OBJECT

 public:
  enum Role { KeyRole = Qt::UserRole + 1, NamespaceRole, SortRole };

  static constexpr int kSliceRows = 100;
  static constexpr std::chrono::milliseconds kSliceTime{8};

  explicit ResourceTableModel(const api::KindInfo& kind, QObject* parent = nullptr);
  ~ResourceTableModel() override;  // waits for a batch being built

  const api::KindInfo& kind() const { return kind_; }
  // Applies one coalesced batch at once: deletes, then in-place updates, then appends. Not
  // for a model that follows a bridge (its batches would be applied out of order).
  void applyBatch(const ChangeBatch& batch);
  // Follows `bridge` from now on: its batches are built off the GUI thread and applied in
  // slices, in the order they came.
  void follow(InformerBridge* bridge);
  // True when every batch received from the bridge has been applied.
  bool caughtUp() const { return inFlight_ == 0; }

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
  // A batch received from the bridge has been applied (all its rows are in). Readers of the
  // rows follow this, not the bridge, whose batches reach the rows later.
  void batchApplied();

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
    // The row's entry in index_ (unordered_map nodes never move), so that rows shifted by a
    // delete are renumbered without hashing their keys again. Set when the row is applied.
    int* slot = nullptr;
  };

  // A batch turned into rows, ready to apply.
  struct Prepared {
    std::vector<std::string> gone;  // keys deleted
    std::vector<Row> rows;          // the new state of the others, in batch order
    size_t applied = 0;             // rows applied so far (slices)
  };

  // `cells` is the printer's row for `change.object`.
  Row makeRow(const ObjectChange& change, const json& cells) const;
  // The rows of `changes` (each with an object), in order.
  std::vector<Row> makeRows(const std::vector<const ObjectChange*>& changes) const;
  // Any thread: reads only what the constructor set.
  Prepared prepare(const ChangeBatch& batch) const;
  void receive(const ChangeBatch& batch);
  void scheduleSlice();
  void applySlice();
  void dropKeys(const std::vector<std::string>& keys);
  // Updates in place or appends rows [first, last) of `rows`.
  void applyRows(std::vector<Row>& rows, size_t first, size_t last);
  QVariant sortKey(const Row& row, int column) const;
  QString ageText(const Row& row) const;
  void dropRows(std::vector<int> rows);
  void reindex(size_t from);
  // Hands the objects of deleted and replaced rows to the worker thread to be freed there.
  void releaseDropped();
  void tick();

  const api::KindInfo kind_;
  std::vector<Column> columns_;
  int ageColumn_ = -1;
  int statusColumn_ = -1;
  std::vector<Row> rows_;
  std::unordered_map<std::string, int> index_;
  std::vector<api::CachedObject> dropped_;  // objects of rows gone or replaced in this turn
  QDateTime now_;
  QTimer ageTimer_;
  std::deque<Prepared> ready_;  // built, waiting for their slices
  int inFlight_ = 0;            // received from the bridge, not yet fully applied
  bool sliceQueued_ = false;
  QThreadPool builder_;  // one thread, so batches are built in the order they came
};

}  // namespace kd::dashboard
