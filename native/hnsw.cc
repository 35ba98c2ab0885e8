// A thin N-API binding over hnswlib's HierarchicalNSW on the inner-product space (the headers come from the
// hnswlib-node package, hnswlib 0.8). It exists for what hnswlib-node's JS API cannot do: take the query as a
// Float32Array without a per-element N-API read, write results into caller-owned typed arrays instead of
// building JS arrays, and evaluate the allow/deny filter in C++ from the caller's epoch-stamp arrays instead
// of calling a JS function for every node the walk visits. See src/ann/dense/hnsw/native.ts.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hnswlib/hnswlib.h"

namespace {

struct Graph {
  hnswlib::InnerProductSpace* space = nullptr;
  hnswlib::HierarchicalNSW<float>* index = nullptr;
  size_t dim = 0;
  ~Graph() {
    delete index;
    delete space;
  }
};

// Passes an id when (no allow list, or allowStamp[id] == epoch) and denyStamp[id] != epoch: FilterMarks'
// rule (src/ann/dense/filter-marks.ts), on the same arrays. Ids past an array's end carry no stamp.
class StampFilter : public hnswlib::BaseFilterFunctor {
 public:
  StampFilter(const uint32_t* allow, size_t allowLen, const uint32_t* deny, size_t denyLen, uint32_t epoch)
      : allow_(allow), allowLen_(allowLen), deny_(deny), denyLen_(denyLen), epoch_(epoch) {}
  bool operator()(hnswlib::labeltype id) override {
    if (allow_ && (id >= allowLen_ || allow_[id] != epoch_)) return false;
    return !(deny_ && id < denyLen_ && deny_[id] == epoch_);
  }

 private:
  const uint32_t* allow_;
  size_t allowLen_;
  const uint32_t* deny_;
  size_t denyLen_;
  uint32_t epoch_;
};

napi_value Throw(napi_env env, const char* msg) {
  napi_throw_error(env, "SIMREC_HNSW", msg);
  return nullptr;
}

#define CHECK(call)                                          \
  do {                                                       \
    if ((call) != napi_ok) return Throw(env, "N-API call failed: " #call); \
  } while (0)

bool GetU32(napi_env env, napi_value v, uint32_t* out) { return napi_get_value_uint32(env, v, out) == napi_ok; }

// A typed array argument of the expected element type: its data and element count.
template <typename T>
bool GetTyped(napi_env env, napi_value v, napi_typedarray_type want, T** data, size_t* len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, v, &type, len, &raw, nullptr, nullptr) != napi_ok || type != want) return false;
  *data = static_cast<T*>(raw);
  return true;
}

bool GetString(napi_env env, napi_value v, std::string* out) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, nullptr, 0, &n) != napi_ok) return false;
  out->assign(n, '\0');
  return napi_get_value_string_utf8(env, v, out->data(), n + 1, &n) == napi_ok;
}

bool IsNullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null);
}

Graph* Unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value self;
  if (napi_get_cb_info(env, info, argc, argv, &self, nullptr) != napi_ok) return nullptr;
  void* g = nullptr;
  if (napi_unwrap(env, self, &g) != napi_ok) return nullptr;
  auto* graph = static_cast<Graph*>(g);
  return graph && graph->index ? graph : nullptr;
}

void Finalize(napi_env, void* data, void*) { delete static_cast<Graph*>(data); }

// new Graph(dim, maxElements, m, efConstruction, seed) or new Graph(dim, path) to load a saved index.
napi_value Construct(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_value self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  uint32_t dim, maxElements = 0, m = 0, efc = 0, seed = 0;
  if (argc < 2 || !GetU32(env, argv[0], &dim) || dim == 0) return Throw(env, "dim must be a positive integer");
  std::string path;
  napi_valuetype t;
  CHECK(napi_typeof(env, argv[1], &t));
  const bool load = t == napi_string;
  if (load ? !GetString(env, argv[1], &path)
           : argc < 5 || !GetU32(env, argv[1], &maxElements) || !GetU32(env, argv[2], &m) ||
                 !GetU32(env, argv[3], &efc) || !GetU32(env, argv[4], &seed))
    return Throw(env, "expected (dim, maxElements, m, efConstruction, seed) or (dim, path)");
  auto* g = new (std::nothrow) Graph();
  if (!g) return Throw(env, "out of memory");
  g->dim = dim;
  try {
    g->space = new hnswlib::InnerProductSpace(dim);
    g->index = load ? new hnswlib::HierarchicalNSW<float>(g->space, path, false, 0, false)
                    : new hnswlib::HierarchicalNSW<float>(g->space, maxElements, m, efc, seed, false);
  } catch (const std::exception& e) {
    delete g;
    return Throw(env, e.what());
  }
  if (napi_wrap(env, self, g, Finalize, nullptr, nullptr) != napi_ok) {
    delete g;
    return Throw(env, "could not wrap the graph");
  }
  return self;
}

napi_value Number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

napi_value Undefined(napi_env env) {
  napi_value out;
  napi_get_undefined(env, &out);
  return out;
}

// addPoints(vectors: Float32Array (n × dim, row-major), labels: Int32Array (n), threads: number). Rows are
// handed out in order from a shared counter, so one thread inserts exactly as n one-row calls would (the
// graph is then a function of the seed and the order); more threads insert concurrently, which hnswlib's
// per-node and per-label locks allow, and the graph depends on their interleaving.
napi_value AddPoints(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  Graph* g = Unwrap(env, info, &argc, argv);
  if (!g) return Throw(env, "not a graph");
  float* v;
  int32_t* labels;
  size_t vlen, n;
  uint32_t threads;
  if (argc < 3 || !GetTyped(env, argv[0], napi_float32_array, &v, &vlen) ||
      !GetTyped(env, argv[1], napi_int32_array, &labels, &n) || vlen != n * g->dim)
    return Throw(env, "expected vectors (Float32Array of labels.length × dim) and labels (Int32Array)");
  if (!GetU32(env, argv[2], &threads) || threads == 0 || threads > 256)
    return Throw(env, "threads must be an integer in [1, 256]");
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0) return Throw(env, "labels must be non-negative");
  if (g->index->cur_element_count + n > g->index->max_elements_) {
    // Labels already present are updated in place and take no slot, but a batch that may not fit is refused
    // before anything is inserted rather than halfway through.
    size_t fresh = 0;
    for (size_t i = 0; i < n; i++)
      if (g->index->label_lookup_.find(static_cast<hnswlib::labeltype>(labels[i])) == g->index->label_lookup_.end())
        fresh++;
    if (g->index->cur_element_count + fresh > g->index->max_elements_)
      return Throw(env, "the batch does not fit the graph's capacity: resize first");
  }
  std::atomic<size_t> next(0);
  std::exception_ptr error;
  std::mutex errorLock;
  const size_t dim = g->dim;
  auto work = [&]() {
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        g->index->addPoint(v + i * dim, static_cast<hnswlib::labeltype>(labels[i]), false);
      } catch (...) {
        std::lock_guard<std::mutex> hold(errorLock);
        if (!error) error = std::current_exception();
        next.store(n);
      }
    }
  };
  const size_t extra = std::min<size_t>(threads, n > 0 ? n : 1) - 1;
  std::vector<std::thread> pool;
  try {
    for (size_t t = 0; t < extra; t++) pool.emplace_back(work);
  } catch (const std::exception&) {
    // Could not start a thread: the ones started and this one still insert everything.
  }
  work();
  for (auto& t : pool) t.join();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      return Throw(env, e.what());
    }
  }
  return Undefined(env);
}

// search(query: Float32Array (dim), k, outLabels: Int32Array, outDist: Float32Array,
//        allowStamp?: Uint32Array | null, denyStamp?: Uint32Array | null, epoch?: number) → count written,
// nearest first (ascending distance 1 − q·x).
napi_value Search(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  Graph* g = Unwrap(env, info, &argc, argv);
  if (!g) return Throw(env, "not a graph");
  float* q;
  int32_t* labels;
  float* dist;
  size_t qlen, llen, dlen;
  uint32_t k;
  if (argc < 4 || !GetTyped(env, argv[0], napi_float32_array, &q, &qlen) || qlen != g->dim)
    return Throw(env, "query must be a Float32Array of the graph's dimension");
  if (!GetU32(env, argv[1], &k)) return Throw(env, "k must be a non-negative integer");
  if (!GetTyped(env, argv[2], napi_int32_array, &labels, &llen) ||
      !GetTyped(env, argv[3], napi_float32_array, &dist, &dlen) || llen < k || dlen < k)
    return Throw(env, "outputs must be an Int32Array and a Float32Array of at least k entries");
  uint32_t* allow = nullptr;
  uint32_t* deny = nullptr;
  size_t allowLen = 0, denyLen = 0;
  uint32_t epoch = 0;
  if (argc >= 7) {
    if (!IsNullish(env, argv[4]) && !GetTyped(env, argv[4], napi_uint32_array, &allow, &allowLen))
      return Throw(env, "allowStamp must be a Uint32Array or null");
    if (!IsNullish(env, argv[5]) && !GetTyped(env, argv[5], napi_uint32_array, &deny, &denyLen))
      return Throw(env, "denyStamp must be a Uint32Array or null");
    if (!GetU32(env, argv[6], &epoch)) return Throw(env, "epoch must be a non-negative integer");
  }
  if (k == 0) return Number(env, 0);
  try {
    StampFilter filter(allow, allowLen, deny, denyLen, epoch);
    auto knn = g->index->searchKnn(q, k, (allow || deny) ? &filter : nullptr);
    const size_t n = knn.size();
    for (size_t i = n; i-- > 0;) {
      labels[i] = static_cast<int32_t>(knn.top().second);
      dist[i] = knn.top().first;
      knn.pop();
    }
    return Number(env, static_cast<double>(n));
  } catch (const std::exception& e) {
    return Throw(env, e.what());
  }
}

// A method taking one integer ≥ min: unwraps the graph, parses the argument, runs f(graph, value), and turns
// what hnswlib throws into a JS error.
template <typename F>
napi_value WithU32(napi_env env, napi_callback_info info, const char* name, uint32_t min, F&& f) {
  size_t argc = 1;
  napi_value argv[1];
  Graph* g = Unwrap(env, info, &argc, argv);
  uint32_t v;
  if (!g) return Throw(env, "not a graph");
  if (argc < 1 || !GetU32(env, argv[0], &v) || v < min)
    return Throw(env, (std::string(name) + " must be an integer >= " + std::to_string(min)).c_str());
  try {
    f(g, v);
  } catch (const std::exception& e) {
    return Throw(env, e.what());
  }
  return Undefined(env);
}

napi_value MarkDelete(napi_env env, napi_callback_info info) {
  return WithU32(env, info, "label", 0, [](Graph* g, uint32_t label) { g->index->markDelete(label); });
}

napi_value Resize(napi_env env, napi_callback_info info) {
  return WithU32(env, info, "maxElements", 0, [](Graph* g, uint32_t n) { g->index->resizeIndex(n); });
}

napi_value SetEf(napi_env env, napi_callback_info info) {
  return WithU32(env, info, "ef", 1, [](Graph* g, uint32_t ef) { g->index->setEf(ef); });
}

napi_value Save(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  Graph* g = Unwrap(env, info, &argc, argv);
  if (!g) return Throw(env, "not a graph");
  std::string path;
  if (argc < 1 || !GetString(env, argv[0], &path)) return Throw(env, "path must be a string");
  try {
    g->index->saveIndex(path);
  } catch (const std::exception& e) {
    return Throw(env, e.what());
  }
  return Undefined(env);
}

napi_value Count(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Graph* g = Unwrap(env, info, &argc, nullptr);
  if (!g) return Throw(env, "not a graph");
  return Number(env, static_cast<double>(g->index->cur_element_count));
}

napi_value Capacity(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Graph* g = Unwrap(env, info, &argc, nullptr);
  if (!g) return Throw(env, "not a graph");
  return Number(env, static_cast<double>(g->index->max_elements_));
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"addPoints", nullptr, AddPoints, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"search", nullptr, Search, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"markDelete", nullptr, MarkDelete, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"resize", nullptr, Resize, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setEf", nullptr, SetEf, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"save", nullptr, Save, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"count", nullptr, Count, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"capacity", nullptr, Capacity, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  if (napi_define_class(env, "Graph", NAPI_AUTO_LENGTH, Construct, nullptr, sizeof(methods) / sizeof(methods[0]),
                        methods, &cls) != napi_ok)
    return nullptr;
  napi_set_named_property(env, exports, "Graph", cls);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
