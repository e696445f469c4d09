#include "dashboard/resource_table_model.h"

#include <QElapsedTimer>
#include <algorithm>

#include "engine/api/object_key.h"
#include "engine/api/table.h"

namespace kd::dashboard {
namespace {

QString cellText(const json& cell) {
  if (cell.is_string()) return QString::fromStdString(cell.get_ref<const std::string&>());
  if (cell.is_null()) return {};
  return QString::fromStdString(cell.dump());
}

// obj[a][b] as text; "" when absent or not a string (this runs for every row of every batch).
QString str(const json& obj, const char* a, const char* b) {
  const std::string_view v = api::stringAt(obj, a, b);
  return QString::fromUtf8(v.data(), qsizetype(v.size()));
}

// Calls `f(first, last)` for each run of consecutive values in sorted `v`.
template <class F>
void forEachRun(const std::vector<int>& v, F f) {
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j + 1 < v.size() && v[j + 1] == v[j] + 1) ++j;
    f(v[i], v[j]);
    i = j + 1;
  }
}

}  // namespace

ResourceTableModel::ResourceTableModel(const api::KindInfo& kind, QObject* parent)
    : QAbstractTableModel(parent), kind_(kind), now_(QDateTime::currentDateTimeUtc()) {
  if (kind_.namespaced) columns_.push_back({tr("Namespace"), "string", -1});
  const json table = api::buildTable(kind_, {}, json::object(), api::TableObjects::None,
                                     std::chrono::system_clock::now());
  int i = 0;
  for (const auto& def : table["columnDefinitions"]) {
    if (def.value("priority", 0) == 0) {
      columns_.push_back({QString::fromStdString(def.value("name", "")),
                          QString::fromStdString(def.value("type", "string")), i});
    }
    ++i;
  }
  ageColumn_ = columnNamed("Age");
  statusColumn_ = columnNamed("Status");
  connect(&ageTimer_, &QTimer::timeout, this, &ResourceTableModel::tick);
  ageTimer_.start(1000);
  builder_.setMaxThreadCount(1);
}

ResourceTableModel::~ResourceTableModel() {
  builder_.clear();
  builder_.waitForDone();
}

void ResourceTableModel::follow(InformerBridge* bridge) {
  connect(bridge, &InformerBridge::changed, this, &ResourceTableModel::receive);
}

int ResourceTableModel::columnNamed(const QString& header) const {
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].name.compare(header, Qt::CaseInsensitive) == 0) return static_cast<int>(c);
  }
  return -1;
}

ResourceTableModel::Row ResourceTableModel::makeRow(const ObjectChange& change,
                                                    const json& cells) const {
  const json& obj = *change.object;
  Row row{change.key, change.object, {}, {}, Health::Unknown, nullptr};
  for (const auto& c : columns_) {
    row.cells << (c.tableIndex < 0 ? str(obj, "metadata", "namespace")
                                   : cellText(cells[static_cast<size_t>(c.tableIndex)]));
  }
  row.created = QDateTime::fromString(str(obj, "metadata", "creationTimestamp"), Qt::ISODate);
  if (statusColumn_ >= 0) row.health = healthOf(row.cells[statusColumn_]);
  return row;
}

std::vector<ResourceTableModel::Row> ResourceTableModel::makeRows(
    const std::vector<const ObjectChange*>& changes) const {
  std::vector<const json*> objects;
  objects.reserve(changes.size());
  for (const ObjectChange* c : changes) objects.push_back(c->object.get());
  // One printer call per batch: its fixed cost (the column definitions it copies into every
  // table) is paid once, not once per object.
  const json table = api::buildTable(kind_, objects, json::object(), api::TableObjects::None,
                                     std::chrono::system_clock::now());
  const json& printed = table["rows"];
  std::vector<Row> rows;
  rows.reserve(changes.size());
  for (size_t i = 0; i < changes.size(); ++i)
    rows.push_back(makeRow(*changes[i], printed[i]["cells"]));
  return rows;
}

ResourceTableModel::Prepared ResourceTableModel::prepare(const ChangeBatch& batch) const {
  Prepared p;
  std::vector<const ObjectChange*> present;
  for (const auto& change : batch) {
    if (change.object) {
      present.push_back(&change);
    } else {
      p.gone.push_back(change.key);
    }
  }
  if (!present.empty()) p.rows = makeRows(present);
  return p;
}

void ResourceTableModel::applyBatch(const ChangeBatch& batch) {
  Prepared p = prepare(batch);
  dropKeys(p.gone);
  applyRows(p.rows, 0, p.rows.size());
  releaseDropped();
}

void ResourceTableModel::receive(const ChangeBatch& batch) {
  ++inFlight_;
  builder_.start([this, batch] {
    Prepared p = prepare(batch);
    // Queued to this object: dropped if the model is gone by then.
    QMetaObject::invokeMethod(
        this,
        [this, p = std::move(p)]() mutable {
          ready_.push_back(std::move(p));
          scheduleSlice();
        },
        Qt::QueuedConnection);
  });
}

void ResourceTableModel::scheduleSlice() {
  if (sliceQueued_) return;
  sliceQueued_ = true;
  QTimer::singleShot(0, this, &ResourceTableModel::applySlice);
}

void ResourceTableModel::applySlice() {
  sliceQueued_ = false;
  QElapsedTimer turn;
  turn.start();
  while (!ready_.empty() && turn.elapsed() < kSliceTime.count()) {
    Prepared& p = ready_.front();
    if (!p.gone.empty()) {
      dropKeys(p.gone);
      p.gone.clear();
    }
    const size_t last = std::min(p.rows.size(), p.applied + kSliceRows);
    applyRows(p.rows, p.applied, last);
    p.applied = last;
    if (p.applied == p.rows.size()) {
      ready_.pop_front();
      --inFlight_;
      emit batchApplied();
    }
  }
  releaseDropped();
  if (!ready_.empty()) scheduleSlice();
}

void ResourceTableModel::releaseDropped() {
  if (dropped_.empty()) return;
  builder_.start([objects = std::move(dropped_)] {});
  dropped_.clear();
}

void ResourceTableModel::dropKeys(const std::vector<std::string>& keys) {
  std::vector<int> gone;
  for (const auto& key : keys) {
    if (auto it = index_.find(key); it != index_.end()) gone.push_back(it->second);
  }
  if (gone.empty()) return;
  dropRows(std::move(gone));
  emit countChanged(rowCount());
}

void ResourceTableModel::applyRows(std::vector<Row>& rows, size_t first, size_t last) {
  std::vector<int> updated;
  std::vector<Row> added;
  added.reserve(last - first);
  for (size_t i = first; i < last; ++i) {
    Row& row = rows[i];
    if (auto it = index_.find(row.key); it != index_.end()) {
      updated.push_back(it->second);
      Row& current = rows_[static_cast<size_t>(it->second)];
      dropped_.push_back(std::move(current.object));
      row.slot = current.slot;
      current = std::move(row);
    } else {
      added.push_back(std::move(row));
    }
  }
  std::sort(updated.begin(), updated.end());
  updated.erase(std::unique(updated.begin(), updated.end()), updated.end());
  forEachRun(updated, [this](int from, int to) {
    emit dataChanged(index(from, 0), index(to, columnCount() - 1));
  });
  if (added.empty()) return;
  const int firstNew = rowCount();
  beginInsertRows({}, firstNew, firstNew + static_cast<int>(added.size()) - 1);
  for (auto& row : added) {
    row.slot = &index_.insert_or_assign(row.key, static_cast<int>(rows_.size())).first->second;
    rows_.push_back(std::move(row));
  }
  endInsertRows();
  emit countChanged(rowCount());
}

void ResourceTableModel::dropRows(std::vector<int> rows) {
  std::sort(rows.begin(), rows.end());
  // Last run first, so earlier indices stay valid.
  std::vector<std::pair<int, int>> runs;
  forEachRun(rows, [&runs](int first, int last) { runs.emplace_back(first, last); });
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    beginRemoveRows({}, it->first, it->second);
    for (int r = it->first; r <= it->second; ++r) {
      Row& row = rows_[static_cast<size_t>(r)];
      index_.erase(row.key);
      dropped_.push_back(std::move(row.object));
    }
    rows_.erase(rows_.begin() + it->first, rows_.begin() + it->second + 1);
    endRemoveRows();
  }
  reindex(static_cast<size_t>(runs.front().first));
}

// Rows before `from` kept their places.
void ResourceTableModel::reindex(size_t from) {
  for (size_t i = from; i < rows_.size(); ++i) *rows_[i].slot = static_cast<int>(i);
}

void ResourceTableModel::tick() {
  now_ = QDateTime::currentDateTimeUtc();
  if (ageColumn_ >= 0 && !rows_.empty()) {
    emit dataChanged(index(0, ageColumn_), index(rowCount() - 1, ageColumn_), {Qt::DisplayRole});
  }
}

api::CachedObject ResourceTableModel::objectAt(int row) const {
  if (row < 0 || row >= rowCount()) return nullptr;
  return rows_[static_cast<size_t>(row)].object;
}

int ResourceTableModel::rowOfKey(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? -1 : it->second;
}

Health ResourceTableModel::healthAt(int row) const {
  if (row < 0 || row >= rowCount()) return Health::Unknown;
  return rows_[static_cast<size_t>(row)].health;
}

int ResourceTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int ResourceTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(columns_.size());
}

QString ResourceTableModel::ageText(const Row& row) const {
  if (!row.created.isValid()) return row.cells[ageColumn_];
  return QString::fromStdString(api::humanDuration(std::chrono::seconds(row.created.secsTo(now_))));
}

QVariant ResourceTableModel::sortKey(const Row& row, int column) const {
  const Column& c = columns_[static_cast<size_t>(column)];
  if (column == ageColumn_ && row.created.isValid()) return -row.created.toMSecsSinceEpoch();
  if (c.type == QLatin1String("integer") || c.type == QLatin1String("number"))
    return row.cells[column].toDouble();
  return row.cells[column];
}

QVariant ResourceTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= rowCount() || index.column() >= columnCount()) return {};
  const Row& row = rows_[static_cast<size_t>(index.row())];
  const int col = index.column();
  switch (role) {
    case Qt::DisplayRole:
      return col == ageColumn_ ? ageText(row) : row.cells[col];
    case Qt::ForegroundRole:
      if (col == statusColumn_ && row.health != Health::Unknown) return healthColor(row.health);
      return {};
    case Qt::DecorationRole:
      if (col == statusColumn_ && row.health != Health::Unknown) return healthIcon(row.health);
      return {};
    case KeyRole:
      return QString::fromStdString(row.key);
    case NamespaceRole:
      return kind_.namespaced ? row.cells[0] : QString();
    case SortRole:
      return sortKey(row, col);
    default:
      return {};
  }
}

QVariant ResourceTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 ||
      section >= columnCount()) {
    return {};
  }
  return columns_[static_cast<size_t>(section)].name.toUpper();
}

}  // namespace kd::dashboard
