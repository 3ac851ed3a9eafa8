/* Counter-based random draws, the plan's integer sorts and group scans, and strings, one pass
 * over each array.
 *
 * ecomlake.rng.hashing.random_bits is splitmix64 twice per value: in numpy that is ~10 passes
 * over every block of values, and the uniform floats made from the bits take three more. Here
 * each value is read once and written once, as bits, as the float in [0, 1) from its top 53, or
 * straight on to Rng.integers' bounded integers, Rng.categorical(_rows)' picks and
 * Rng.poisson's counts.
 *
 * ecomlake.plan.ids builds "<prefix><number zero-padded to width>" strings; pyarrow's cast, lpad
 * and join build three string arrays on the way. ecomlake.render.columns.joined builds contact
 * strings and labels from vocabularies of pieces, where take and join copy every byte twice.
 * Here the final Arrow offsets and data buffers are written directly.
 *
 * ecomlake.plan.sorting and ecomlake.plan.groups sort keys of a narrow range by counting, and
 * expand per-group counts into rows' groups, ranks and running sums (see counting_argsort and
 * group_ranks below).
 *
 * All give exactly the numpy / pyarrow results (that code stays as the fallback when this
 * module is not built); tests/unit/test_kernels.py, test_sorting.py and test_plan_groups.py
 * compare the two.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define GOLDEN 0x9E3779B97F4A7C15ULL
#define MUL1 0xBF58476D1CE4E5B9ULL
#define MUL2 0x94D049BB133111EBULL
#define INDEX_MUL 0xD6E8FEB86659FD93ULL
#define TO_UNIT (1.0 / 9007199254740992.0) /* 2**-53 */
/* Shorter loops keep the GIL, as numpy's do: handing it to another thread and waiting to get it
 * back can cost more than the loop. */
#define GIL_THRESHOLD 500
#define MAX_PREFIXES 256 /* a prefix is chosen by one byte per row */
#define MAX_DIGITS 20    /* "-9223372036854775808" */

#define RELEASE_GIL_IF(big) \
    PyThreadState *_save = NULL; \
    if (big) \
        _save = PyEval_SaveThread()
#define ACQUIRE_GIL() \
    do { \
        if (_save != NULL) \
            PyEval_RestoreThread(_save); \
    } while (0)

static const char INT64_FORMATS[] = "lLqQ"; /* 8-byte integers, read as uint64 */
static const char FLOAT64_FORMATS[] = "d";
static const char BYTE_FORMATS[] = "bB?";
static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static inline uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * MUL1;
    x = (x ^ (x >> 27)) * MUL2;
    return x ^ (x >> 31);
}

/* random_bits of one value: the entity's hash, salted by its index, hashed again. */
static inline uint64_t keyed_bits(uint64_t key, uint64_t entity, uint64_t index)
{
    return mix64(mix64(entity * GOLDEN + key) ^ ((index + 1) * INDEX_MUL));
}

/* A C-contiguous buffer of `itemsize`-byte items whose struct format is one of `formats`.
 * Returns 0, or -1 with TypeError/ValueError set (a BufferError is reported as ValueError). */
static int get_array(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize,
                     const char *formats, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) {
        if (PyErr_ExceptionMatches(PyExc_BufferError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "%s must be a C-contiguous%s buffer", name,
                         writable ? " writable" : "");
        }
        return -1;
    }
    const char *format = view->format != NULL ? view->format : "B";
    if (*format == '@' || *format == '=')
        format++;
    if (view->itemsize != itemsize || format[0] == '\0' || format[1] != '\0' ||
        strchr(formats, format[0]) == NULL) {
        PyErr_Format(PyExc_TypeError, "%s must hold %zd-byte items of format '%s', not '%s'",
                     name, itemsize, formats, view->format != NULL ? view->format : "B");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* An optional array of one byte per row (None: absent, view->buf stays NULL); -1 with an error
 * set, and nothing to release, if it is not n bytes in one dimension. */
static int get_row_bytes(PyObject *obj, Py_buffer *view, Py_ssize_t n, const char *name)
{
    if (obj == Py_None)
        return 0;
    if (get_array(obj, view, 0, 1, BYTE_FORMATS, name) < 0)
        return -1;
    if (view->len != n || view->ndim != 1) {
        PyErr_Format(PyExc_ValueError, "%s must hold one byte per row (%zd)", name, n);
        PyBuffer_Release(view);
        view->buf = NULL;
        return -1;
    }
    return 0;
}

/* A Python integer (or anything with __index__) as uint64; ValueError outside [0, 2**64). */
static int as_uint64(PyObject *obj, uint64_t *value)
{
    PyObject *number = PyNumber_Index(obj);
    if (number == NULL)
        return -1;
    *value = PyLong_AsUnsignedLongLong(number);
    Py_DECREF(number);
    if (PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "key must be in [0, 2**64)");
        }
        return -1;
    }
    return 0;
}

/* hash_bits / hash_units: parse (key, entity, index, out), check sizes, run the loop. */
static PyObject *hash_into(PyObject *args, int units, const char *signature)
{
    PyObject *key_obj, *entity_obj, *index_obj, *out_obj;
    Py_buffer entity, index, out;
    PyObject *result = NULL;
    uint64_t key;
    if (!PyArg_ParseTuple(args, signature, &key_obj, &entity_obj, &index_obj, &out_obj))
        return NULL;
    if (as_uint64(key_obj, &key) < 0)
        return NULL;
    if (get_array(entity_obj, &entity, 0, 8, INT64_FORMATS, "entity") < 0)
        return NULL;
    if (get_array(index_obj, &index, 0, 8, INT64_FORMATS, "index") < 0)
        goto release_entity;
    if (get_array(out_obj, &out, 1, 8, units ? FLOAT64_FORMATS : INT64_FORMATS, "out") < 0)
        goto release_index;

    Py_ssize_t n = entity.len / 8, n_index = index.len / 8;
    if (out.len != entity.len) {
        PyErr_Format(PyExc_ValueError, "out holds %zd values, entity %zd", out.len / 8, n);
        goto release_out;
    }
    if (n_index != 1 && n_index != n) {
        PyErr_Format(PyExc_ValueError, "index holds %zd values: 1 or %zd expected", n_index, n);
        goto release_out;
    }
    const uint64_t *ent = entity.buf, *idx = index.buf;
    Py_ssize_t step = n_index == 1 ? 0 : 1; /* one index for all, or one per entity */
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        if (units) {
            double *u = out.buf;
            for (Py_ssize_t i = 0; i < n; i++)
                u[i] = (double)(int64_t)(keyed_bits(key, ent[i], idx[i * step]) >> 11) * TO_UNIT;
        } else {
            uint64_t *bits = out.buf;
            for (Py_ssize_t i = 0; i < n; i++)
                bits[i] = keyed_bits(key, ent[i], idx[i * step]);
        }
        ACQUIRE_GIL();
    }
    result = Py_NewRef(Py_None);
release_out:
    PyBuffer_Release(&out);
release_index:
    PyBuffer_Release(&index);
release_entity:
    PyBuffer_Release(&entity);
    return result;
}

static PyObject *hash_bits(PyObject *self, PyObject *args)
{
    return hash_into(args, 0, "OOOO:hash_bits");
}

static PyObject *hash_units(PyObject *self, PyObject *args)
{
    return hash_into(args, 1, "OOOO:hash_units");
}

/* Characters of str(value): its digits and a '-' for a negative value. */
static inline Py_ssize_t decimal_len(int64_t value)
{
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    Py_ssize_t len = value < 0 ? 2 : 1;
    while (magnitude >= 10) {
        magnitude /= 10;
        len++;
    }
    return len;
}

/* Fill the row [start, end): `prefix`, then '0's up to str(value), as utf8_lpad pads (before a
 * '-' too), then str(value), written backwards from the end two digits at a time. */
static inline void write_row(char *start, char *end, const char *prefix, Py_ssize_t prefix_len,
                             int64_t value)
{
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    while (magnitude >= 100) {
        end -= 2;
        memcpy(end, DIGIT_PAIRS + 2 * (magnitude % 100), 2);
        magnitude /= 100;
    }
    if (magnitude >= 10) {
        end -= 2;
        memcpy(end, DIGIT_PAIRS + 2 * magnitude, 2);
    } else {
        *--end = (char)('0' + magnitude);
    }
    if (value < 0)
        *--end = '-';
    memcpy(start, prefix, (size_t)prefix_len);
    memset(start + prefix_len, '0', (size_t)(end - start - prefix_len));
}

/* Offsets of every row (prefix + max(width, len(str(number)))) into offsets[1..n]; returns the
 * first row whose choice has no prefix, n if none, or -1 past INT32_MAX bytes of text. */
static Py_ssize_t row_offsets(const int64_t *numbers, const uint8_t *choice, Py_ssize_t n,
                              const Py_ssize_t *prefix_lens, Py_ssize_t n_prefixes,
                              Py_ssize_t width, int32_t *offsets)
{
    int64_t total = 0;
    uint64_t below = 1; /* 10**min(width, 19): int64 values below it have at most width digits */
    for (Py_ssize_t w = 0; w < width && w < MAX_DIGITS - 1; w++)
        below *= 10;
    offsets[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t pick = choice != NULL ? choice[i] : 0;
        if (pick >= n_prefixes)
            return i;
        /* most numbers fit the width: no need to count their digits */
        int64_t value = numbers[i];
        int fits = value >= 0 && width >= 1 && (width >= MAX_DIGITS || (uint64_t)value < below);
        Py_ssize_t digits = fits ? width : decimal_len(value);
        total += prefix_lens[pick] + (digits > width ? digits : width);
        if (total > INT32_MAX)
            return -1;
        offsets[i + 1] = (int32_t)total;
    }
    return n;
}

static PyObject *format_ids(PyObject *self, PyObject *args)
{
    PyObject *numbers_obj, *prefixes, *choice_obj;
    Py_ssize_t width;
    Py_buffer numbers, choice = {0};
    const char *prefix_data[MAX_PREFIXES];
    Py_ssize_t prefix_lens[MAX_PREFIXES];
    PyObject *offsets = NULL, *data = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "OO!On:format_ids", &numbers_obj, &PyTuple_Type, &prefixes,
                          &choice_obj, &width))
        return NULL;
    Py_ssize_t n_prefixes = PyTuple_GET_SIZE(prefixes);
    if (n_prefixes < 1 || n_prefixes > MAX_PREFIXES) {
        PyErr_Format(PyExc_ValueError, "1 to %d prefixes expected, not %zd", MAX_PREFIXES,
                     n_prefixes);
        return NULL;
    }
    for (Py_ssize_t p = 0; p < n_prefixes; p++) {
        PyObject *prefix = PyTuple_GET_ITEM(prefixes, p);
        if (!PyBytes_Check(prefix)) {
            PyErr_SetString(PyExc_TypeError, "prefixes must be bytes");
            return NULL;
        }
        prefix_data[p] = PyBytes_AS_STRING(prefix);
        prefix_lens[p] = PyBytes_GET_SIZE(prefix);
    }
    if (width < 0 || width > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "width must be in [0, 2**31)");
        return NULL;
    }
    if (get_array(numbers_obj, &numbers, 0, 8, "lq", "numbers") < 0)
        return NULL;
    Py_ssize_t n = numbers.len / 8;
    if (numbers.ndim != 1) {
        PyErr_SetString(PyExc_ValueError, "numbers must be one-dimensional");
        goto done;
    }
    if (get_row_bytes(choice_obj, &choice, n, "choice") < 0)
        goto done;
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more rows than int32 offsets can hold");
        goto done;
    }
    offsets = PyBytes_FromStringAndSize(NULL, (n + 1) * (Py_ssize_t)sizeof(int32_t));
    if (offsets == NULL)
        goto done;
    int32_t *bounds = (int32_t *)PyBytes_AS_STRING(offsets);
    const int64_t *values = numbers.buf;
    const uint8_t *picks = choice_obj != Py_None ? choice.buf : NULL;

    Py_ssize_t checked;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        checked = row_offsets(values, picks, n, prefix_lens, n_prefixes, width, bounds);
        ACQUIRE_GIL();
    }
    if (checked < 0) {
        PyErr_SetString(PyExc_ValueError, "more than 2 GiB of text: too long for int32 offsets");
        goto done;
    }
    if (checked < n) {
        PyErr_Format(PyExc_ValueError, "choice %d of row %zd has no prefix (%zd given)",
                     (int)picks[checked], checked, n_prefixes);
        goto done;
    }
    data = PyBytes_FromStringAndSize(NULL, bounds[n]);
    if (data == NULL)
        goto done;
    char *text = PyBytes_AS_STRING(data);
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t pick = picks != NULL ? picks[i] : 0;
            write_row(text + bounds[i], text + bounds[i + 1], prefix_data[pick],
                      prefix_lens[pick], values[i]);
        }
        ACQUIRE_GIL();
    }
    result = PyTuple_Pack(2, offsets, data);
done:
    Py_XDECREF(offsets);
    Py_XDECREF(data);
    if (choice.obj != NULL)
        PyBuffer_Release(&choice);
    PyBuffer_Release(&numbers);
    return result;
}

/* ---- Bounded integers and categories from the keyed bits ------------------------------------
 *
 * Rng.integers took hash_units' floats and made four more numpy passes (scale, truncate, cap,
 * shift); Rng.categorical(_rows) a searchsorted per cdf row. Here each value goes from its bits
 * to its integer in registers, through numpy's float64 operations in numpy's order, so the
 * results are bit for bit those of the numpy code (the fallback; tests/unit/test_kernels.py).
 */

/* The keyed part of a draw: key, entity and index (1 value or one per entity). */
typedef struct {
    uint64_t key;
    Py_buffer entity, index;
    Py_ssize_t n, index_step;
} Keyed;

/* A C-contiguous buffer of 8-byte items holding 1 value (step 0) or n (step 1). */
static int get_per_value(PyObject *obj, Py_buffer *view, const char *formats, const char *name,
                         Py_ssize_t n, Py_ssize_t *step)
{
    if (get_array(obj, view, 0, 8, formats, name) < 0)
        return -1;
    Py_ssize_t count = view->len / 8;
    if (count != 1 && count != n) {
        PyErr_Format(PyExc_ValueError, "%s holds %zd values: 1 or %zd expected", name, count, n);
        PyBuffer_Release(view);
        return -1;
    }
    *step = count == 1 ? 0 : 1;
    return 0;
}

static int get_keyed(PyObject *key, PyObject *entity, PyObject *index, Keyed *keyed)
{
    if (as_uint64(key, &keyed->key) < 0)
        return -1;
    if (get_array(entity, &keyed->entity, 0, 8, INT64_FORMATS, "entity") < 0)
        return -1;
    keyed->n = keyed->entity.len / 8;
    if (get_per_value(index, &keyed->index, INT64_FORMATS, "index", keyed->n,
                      &keyed->index_step) < 0) {
        PyBuffer_Release(&keyed->entity);
        return -1;
    }
    return 0;
}

static void release_keyed(Keyed *keyed)
{
    PyBuffer_Release(&keyed->index);
    PyBuffer_Release(&keyed->entity);
}

/* The uniform of value i, as hash_units writes it. */
static inline double keyed_unit(const Keyed *keyed, Py_ssize_t i)
{
    const uint64_t *entity = keyed->entity.buf, *index = keyed->index.buf;
    uint64_t bits = keyed_bits(keyed->key, entity[i], index[i * keyed->index_step]);
    return (double)(int64_t)(bits >> 11) * TO_UNIT;
}

/* An int64 output of n values. */
static int get_out(PyObject *obj, Py_buffer *view, Py_ssize_t n)
{
    if (get_array(obj, view, 1, 8, "lq", "out") < 0)
        return -1;
    if (view->len != n * 8) {
        PyErr_Format(PyExc_ValueError, "out holds %zd values, entity %zd", view->len / 8, n);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *hash_integers(PyObject *self, PyObject *args)
{
    PyObject *key_obj, *entity_obj, *index_obj, *low_obj, *high_obj, *out_obj;
    Keyed keyed;
    Py_buffer low, high, out;
    Py_ssize_t low_step, high_step;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOO:hash_integers", &key_obj, &entity_obj, &index_obj,
                          &low_obj, &high_obj, &out_obj))
        return NULL;
    if (get_keyed(key_obj, entity_obj, index_obj, &keyed) < 0)
        return NULL;
    Py_ssize_t n = keyed.n;
    if (get_per_value(low_obj, &low, "lq", "low", n, &low_step) < 0)
        goto release_entity_index;
    if (get_per_value(high_obj, &high, "lq", "high", n, &high_step) < 0)
        goto release_low;
    if (get_out(out_obj, &out, n) < 0)
        goto release_high;
    /* numpy's int64 arithmetic wraps: high - low + 1 and the rest are done modulo 2**64 */
    const uint64_t *lows = low.buf, *highs = high.buf;
    int64_t *picks = out.buf;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t lo = lows[i * low_step], last = highs[i * high_step] - lo; /* span - 1 */
            /* u * span truncated: in int64 range, as |u * span| < 2**63 for any int64 span */
            int64_t pick = (int64_t)(keyed_unit(&keyed, i) * (double)(int64_t)(last + 1));
            if (pick > (int64_t)last)
                pick = (int64_t)last;
            picks[i] = (int64_t)((uint64_t)pick + lo);
        }
        ACQUIRE_GIL();
    }
    result = Py_NewRef(Py_None);
    PyBuffer_Release(&out);
release_high:
    PyBuffer_Release(&high);
release_low:
    PyBuffer_Release(&low);
release_entity_index:
    release_keyed(&keyed);
    return result;
}

/* Rng.poisson's count by inverse CDF: k climbs while u >= cdf, each step p = p * lam / k and
 * cdf = cdf + p, at most `limit` steps. Rng.poisson's numpy loop does these float operations in
 * this order, one step for all rows at a time; here a row runs its own steps (one to three for
 * the plan's small lambdas) in registers. exp(-lam) comes from numpy (p0): no libm here. */
static PyObject *hash_poisson(PyObject *self, PyObject *args)
{
    PyObject *key_obj, *entity_obj, *index_obj, *lam_obj, *p0_obj, *out_obj;
    Py_ssize_t limit;
    Keyed keyed;
    Py_buffer lam, p0, out;
    Py_ssize_t lam_step, p0_step;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOnOOO:hash_poisson", &key_obj, &entity_obj, &index_obj,
                          &limit, &lam_obj, &p0_obj, &out_obj))
        return NULL;
    if (get_keyed(key_obj, entity_obj, index_obj, &keyed) < 0)
        return NULL;
    Py_ssize_t n = keyed.n;
    if (get_per_value(lam_obj, &lam, FLOAT64_FORMATS, "lam", n, &lam_step) < 0)
        goto release_entity_index;
    if (get_per_value(p0_obj, &p0, FLOAT64_FORMATS, "p0", n, &p0_step) < 0)
        goto release_lam;
    if (get_out(out_obj, &out, n) < 0)
        goto release_p0;
    const double *lams = lam.buf, *p0s = p0.buf;
    int64_t *counts = out.buf;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        for (Py_ssize_t i = 0; i < n; i++) {
            double u = keyed_unit(&keyed, i), l = lams[i * lam_step], p = p0s[i * p0_step];
            double cdf = p;
            Py_ssize_t k = 0;
            while (k < limit && u >= cdf) {
                k++;
                p = p * l / (double)k;
                cdf = cdf + p;
            }
            counts[i] = (int64_t)k;
        }
        ACQUIRE_GIL();
    }
    result = Py_NewRef(Py_None);
    PyBuffer_Release(&out);
release_p0:
    PyBuffer_Release(&p0);
release_lam:
    PyBuffer_Release(&lam);
release_entity_index:
    release_keyed(&keyed);
    return result;
}

/* Entries of cdf[0..k) that are <= u: a binary search on nondecreasing rows (searchsorted's
 * side="right"), a count on any other (NaN entries are never <= u). The search keeps the answer
 * in [first, first + k] and halves k whatever the comparison says: a fixed number of steps, and
 * the comparison (0 or 1) scales the move instead of a branch that random u would mispredict
 * half the time (3-4x slower at k = 20). */
static inline Py_ssize_t count_at_most(const double *cdf, Py_ssize_t k, double u, int sorted)
{
    if (!sorted) {
        Py_ssize_t count = 0;
        for (Py_ssize_t j = 0; j < k; j++)
            count += cdf[j] <= u;
        return count;
    }
    const double *first = cdf;
    while (k > 0) {
        Py_ssize_t half = k / 2;
        first += (first[half] <= u) * (k - half);
        k = half;
    }
    return first - cdf;
}

static PyObject *hash_categories(PyObject *self, PyObject *args)
{
    PyObject *key_obj, *entity_obj, *index_obj, *table_obj, *rows_obj, *out_obj;
    Keyed keyed;
    Py_buffer table, rows, out;
    Py_ssize_t rows_step, bad = -1;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOOOOO:hash_categories", &key_obj, &entity_obj, &index_obj,
                          &table_obj, &rows_obj, &out_obj))
        return NULL;
    if (get_keyed(key_obj, entity_obj, index_obj, &keyed) < 0)
        return NULL;
    Py_ssize_t n = keyed.n;
    if (get_array(table_obj, &table, 0, 8, FLOAT64_FORMATS, "table") < 0)
        goto release_entity_index;
    if (table.ndim != 2 || table.shape[1] < 1) {
        PyErr_SetString(PyExc_ValueError, "table must be two-dimensional with a column or more");
        goto release_table;
    }
    if (get_per_value(rows_obj, &rows, "lq", "rows", n, &rows_step) < 0)
        goto release_table;
    if (get_out(out_obj, &out, n) < 0)
        goto release_rows;
    const double *cdf = table.buf;
    Py_ssize_t n_rows = table.shape[0], k = table.shape[1];
    const int64_t *row = rows.buf;
    int64_t *picks = out.buf;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        int sorted = 1; /* !(a <= b) also catches NaN */
        for (Py_ssize_t r = 0; r < n_rows && sorted; r++)
            for (Py_ssize_t j = 1; j < k && sorted; j++)
                sorted = cdf[r * k + j - 1] <= cdf[r * k + j];
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t r = row[i * rows_step];
            if (r < 0 || r >= n_rows) {
                bad = i;
                break;
            }
            Py_ssize_t count = count_at_most(cdf + r * k, k, keyed_unit(&keyed, i), sorted);
            picks[i] = count < k ? count : k - 1;
        }
        ACQUIRE_GIL();
    }
    if (bad >= 0)
        PyErr_Format(PyExc_ValueError, "row %lld of value %zd is not in [0, %zd)",
                     (long long)row[bad * rows_step], bad, n_rows);
    else
        result = Py_NewRef(Py_None);
    PyBuffer_Release(&out);
release_rows:
    PyBuffer_Release(&rows);
release_table:
    PyBuffer_Release(&table);
release_entity_index:
    release_keyed(&keyed);
    return result;
}

/* ---- end of bounded integers and categories ---- */

/* counting_argsort: the stable argsort of integer keys in a small range [low, low + span), as
 * np.argsort(kind="stable") gives it, by counting: one pass counts each key, a prefix sum
 * places each key's first position, a second pass deals the positions out in order. The plan
 * sorts a million customers by signup day (a few thousand days) this way in two passes rather
 * than a comparison sort (ecomlake.plan.sorting.stable_argsort keeps that as the fallback). */
static PyObject *counting_argsort(PyObject *self, PyObject *args)
{
    PyObject *keys_obj, *out_obj;
    long long low;
    Py_ssize_t span, bad = -1;
    Py_buffer keys, out;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OLnO:counting_argsort", &keys_obj, &low, &span, &out_obj))
        return NULL;
    if (span < 1 || span > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Py_ssize_t) - 1) {
        PyErr_Format(PyExc_ValueError, "span must be in [1, %zd], not %zd",
                     PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Py_ssize_t) - 1, span);
        return NULL;
    }
    if (get_array(keys_obj, &keys, 0, 8, "lq", "keys") < 0)
        return NULL;
    Py_ssize_t n = keys.len / 8;
    if (get_out(out_obj, &out, n) < 0)
        goto release_keys;
    Py_ssize_t *next = PyMem_Calloc((size_t)span + 1, sizeof(Py_ssize_t));
    if (next == NULL) {
        PyErr_NoMemory();
        goto release_out;
    }
    const int64_t *key = keys.buf;
    int64_t *order = out.buf;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        /* offsets wrap like numpy's int64 arithmetic; one unsigned compare checks the range */
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t at = (uint64_t)key[i] - (uint64_t)low;
            if (at >= (uint64_t)span) {
                bad = i;
                break;
            }
            next[at + 1]++;
        }
        if (bad < 0) {
            for (Py_ssize_t k = 1; k <= span; k++)
                next[k] += next[k - 1];
            for (Py_ssize_t i = 0; i < n; i++)
                order[next[(uint64_t)key[i] - (uint64_t)low]++] = i;
        }
        ACQUIRE_GIL();
    }
    PyMem_Free(next);
    if (bad >= 0)
        PyErr_Format(PyExc_ValueError, "key %lld of value %zd is not in [%lld, %lld + %zd)",
                     (long long)key[bad], bad, low, low, span);
    else
        result = Py_NewRef(Py_None);
release_out:
    PyBuffer_Release(&out);
release_keys:
    PyBuffer_Release(&keys);
    return result;
}

/* group_ranks / group_cumsum: rows laid out in consecutive groups of counts[g] rows.
 *
 * The plan expands per-shopper and per-cart counts into rows (repeat visits, cart lines,
 * seasonal copies): np.repeat(np.arange(m), counts) for each row's group, the position less the
 * group's start for its rank, and running sums that restart at each group; in numpy each is
 * several passes and a gather. Here each is one pass (ecomlake.plan.groups keeps the numpy code
 * as the fallback). */

/* The counts (int64, one-dimensional) and the rows they add up to; -1 with an error set. */
static int get_counts(PyObject *obj, Py_buffer *view, Py_ssize_t *rows)
{
    if (get_array(obj, view, 0, 8, "lq", "counts") < 0)
        return -1;
    const int64_t *count = view->buf;
    Py_ssize_t m = view->len / 8;
    int64_t total = 0;
    for (Py_ssize_t g = 0; g < m; g++) {
        if (count[g] < 0 || count[g] > PY_SSIZE_T_MAX - total) {
            PyErr_Format(PyExc_ValueError, "count %lld of group %zd is negative or too large",
                         (long long)count[g], g);
            PyBuffer_Release(view);
            return -1;
        }
        total += count[g];
    }
    *rows = (Py_ssize_t)total;
    return 0;
}

static PyObject *group_ranks(PyObject *self, PyObject *args)
{
    PyObject *counts_obj, *group_obj, *rank_obj;
    Py_buffer counts, group, rank;
    Py_ssize_t n;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOO:group_ranks", &counts_obj, &group_obj, &rank_obj))
        return NULL;
    if (get_counts(counts_obj, &counts, &n) < 0)
        return NULL;
    if (get_out(group_obj, &group, n) < 0)
        goto release_counts;
    if (get_out(rank_obj, &rank, n) < 0)
        goto release_group;
    const int64_t *count = counts.buf;
    int64_t *groups = group.buf, *ranks = rank.buf;
    Py_ssize_t m = counts.len / 8;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        Py_ssize_t at = 0;
        for (Py_ssize_t g = 0; g < m; g++)
            for (int64_t r = 0; r < count[g]; r++, at++) {
                groups[at] = (int64_t)g;
                ranks[at] = r;
            }
        ACQUIRE_GIL();
    }
    result = Py_NewRef(Py_None);
    PyBuffer_Release(&rank);
release_group:
    PyBuffer_Release(&group);
release_counts:
    PyBuffer_Release(&counts);
    return result;
}

static PyObject *group_cumsum(PyObject *self, PyObject *args)
{
    PyObject *values_obj, *counts_obj, *out_obj;
    Py_buffer values, counts, out;
    Py_ssize_t n;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "OOO:group_cumsum", &values_obj, &counts_obj, &out_obj))
        return NULL;
    if (get_counts(counts_obj, &counts, &n) < 0)
        return NULL;
    if (get_array(values_obj, &values, 0, 8, "lq", "values") < 0)
        goto release_counts;
    if (values.len != n * 8) {
        PyErr_Format(PyExc_ValueError, "values hold %zd rows, the counts add up to %zd",
                     values.len / 8, n);
        goto release_values;
    }
    if (get_out(out_obj, &out, n) < 0)
        goto release_values;
    const int64_t *count = counts.buf;
    const uint64_t *value = values.buf; /* sums wrap like numpy's int64 cumsum */
    uint64_t *sums = out.buf;
    Py_ssize_t m = counts.len / 8;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        Py_ssize_t at = 0;
        for (Py_ssize_t g = 0; g < m; g++) {
            uint64_t sum = 0;
            for (int64_t r = 0; r < count[g]; r++, at++) {
                sum += value[at];
                sums[at] = sum;
            }
        }
        ACQUIRE_GIL();
    }
    result = Py_NewRef(Py_None);
    PyBuffer_Release(&out);
release_values:
    PyBuffer_Release(&values);
release_counts:
    PyBuffer_Release(&counts);
    return result;
}

/* gather_join: string rows assembled from pieces of vocabularies.
 *
 * ecomlake.render.columns.joined builds each contact string as vocabulary_0[index_0[i]] + ... +
 * vocabulary_{K-1}[index_{K-1}[i]]; pyarrow's take + binary_join_element_wise copies every byte
 * twice and builds an array per piece. Here pass one sums each row's length into the offsets
 * (checking every index and every vocabulary entry it reads), pass two copies the bytes. A null
 * row is zero bytes long and reads no index. */
#define MAX_PIECES 16
static const char INT32_FORMATS[] = "il"; /* 4-byte signed integers: Arrow's string offsets */

typedef struct {
    Py_buffer offsets, data, index; /* a vocabulary's n + 1 int32 offsets, its bytes; int64 */
    const int32_t *bounds;
    const char *text;
    const int64_t *at;
    Py_ssize_t size, data_len; /* entries in the vocabulary, bytes of its data */
} Piece;

/* Row i's entry of the piece as [start, end), or -1 if its index or offsets are out of range. */
static inline int entry(const Piece *piece, Py_ssize_t i, int32_t *start, int32_t *end)
{
    int64_t j = piece->at[i];
    if (j < 0 || j >= piece->size)
        return -1;
    *start = piece->bounds[j];
    *end = piece->bounds[j + 1];
    return *start >= 0 && *start <= *end && *end <= piece->data_len ? 0 : -1;
}

/* Offsets of every row into offsets[1..n]. Returns 0; or -1 past INT32_MAX bytes; or -2 with
 * *bad_row / *bad_piece set at the first index (or vocabulary offset) out of range. */
static int join_offsets(const Piece *pieces, Py_ssize_t k, Py_ssize_t n, const uint8_t *null,
                        int32_t *offsets, Py_ssize_t *bad_row, Py_ssize_t *bad_piece)
{
    int64_t total = 0;
    offsets[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (null == NULL || !null[i]) {
            for (Py_ssize_t p = 0; p < k; p++) {
                int32_t start, end;
                if (entry(&pieces[p], i, &start, &end) < 0) {
                    *bad_row = i;
                    *bad_piece = p;
                    return -2;
                }
                total += end - start;
            }
            if (total > INT32_MAX)
                return -1;
        }
        offsets[i + 1] = (int32_t)total;
    }
    return 0;
}

/* Copy each row's pieces into its slot; 0, or -1 if an index changed since join_offsets read it
 * (another thread writing the array) and no longer fits: nothing is written out of the slot but
 * the bytes past it that later rows overwrite.
 *
 * Most pieces are a few bytes long, and a memcpy call of a variable length costs more than the
 * copy. A piece of at most 16 bytes is copied as 16 bytes, fixed, when both its vocabulary and
 * the output have them: the spill past the piece lands where the next piece or row is written
 * next, as rows are written in order, and the last bytes of the output take the exact copy. */
#define SHORT_PIECE 16
static int join_bytes(const Piece *pieces, Py_ssize_t k, Py_ssize_t n, const int32_t *offsets,
                      char *text)
{
    const char *text_end = text + offsets[n];
    for (Py_ssize_t i = 0; i < n; i++) {
        char *out = text + offsets[i], *row_end = text + offsets[i + 1];
        if (out == row_end)
            continue; /* a null or empty row */
        for (Py_ssize_t p = 0; p < k; p++) {
            int32_t start, end;
            if (entry(&pieces[p], i, &start, &end) < 0 || end - start > row_end - out)
                return -1;
            const char *from = pieces[p].text + start;
            if (end - start <= SHORT_PIECE && start + SHORT_PIECE <= pieces[p].data_len &&
                text_end - out >= SHORT_PIECE)
                memcpy(out, from, SHORT_PIECE);
            else
                memcpy(out, from, (size_t)(end - start));
            out += end - start;
        }
        if (out != row_end)
            return -1;
    }
    return 0;
}

/* Open piece `p` of the tuple: (offsets, data, index), the index holding n values. */
static int open_piece(PyObject *item, Piece *piece, Py_ssize_t p, Py_ssize_t *n)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3) {
        PyErr_Format(PyExc_TypeError, "piece %zd must be a tuple (offsets, data, index)", p);
        return -1;
    }
    if (get_array(PyTuple_GET_ITEM(item, 0), &piece->offsets, 0, 4, INT32_FORMATS,
                  "offsets") < 0)
        return -1;
    if (get_array(PyTuple_GET_ITEM(item, 1), &piece->data, 0, 1, "bBc", "data") < 0)
        goto release_offsets;
    if (get_array(PyTuple_GET_ITEM(item, 2), &piece->index, 0, 8, "lq", "index") < 0)
        goto release_data;
    if (piece->offsets.ndim != 1 || piece->offsets.len < 4 || piece->index.ndim != 1) {
        PyErr_Format(PyExc_ValueError, "piece %zd: offsets (one more than the entries) and "
                     "index must be one-dimensional", p);
        goto release_index;
    }
    if (piece->data.len > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "piece %zd: data past int32 offsets", p);
        goto release_index;
    }
    if (*n >= 0 && piece->index.len / 8 != *n) {
        PyErr_Format(PyExc_ValueError, "piece %zd: index holds %zd values, not %zd", p,
                     piece->index.len / 8, *n);
        goto release_index;
    }
    *n = piece->index.len / 8;
    piece->bounds = piece->offsets.buf;
    piece->text = piece->data.buf;
    piece->at = piece->index.buf;
    piece->size = piece->offsets.len / 4 - 1;
    piece->data_len = piece->data.len;
    return 0;
release_index:
    PyBuffer_Release(&piece->index);
release_data:
    PyBuffer_Release(&piece->data);
release_offsets:
    PyBuffer_Release(&piece->offsets);
    return -1;
}

/* allocate(size) as a writable buffer of at least `size` bytes, held in `view`; a new reference
 * to the buffer object, or NULL with an exception set. */
static PyObject *allocate_buffer(PyObject *allocate, Py_ssize_t size, Py_buffer *view)
{
    PyObject *buffer = PyObject_CallFunction(allocate, "n", size);
    if (buffer == NULL)
        return NULL;
    if (get_array(buffer, view, 1, 1, "bBc", "allocate(size)") < 0) {
        Py_DECREF(buffer);
        return NULL;
    }
    if (view->len < size) {
        PyErr_Format(PyExc_ValueError, "allocate(%zd) returned %zd bytes", size, view->len);
        PyBuffer_Release(view);
        view->obj = NULL;
        Py_DECREF(buffer);
        return NULL;
    }
    return buffer;
}

static PyObject *gather_join(PyObject *self, PyObject *args)
{
    PyObject *pieces_obj, *null_obj, *allocate;
    Piece pieces[MAX_PIECES];
    Py_buffer null = {0}, offsets_view = {0}, data_view = {0};
    Py_ssize_t k, opened = 0, n = -1;
    PyObject *offsets = NULL, *data = NULL, *validity = NULL, *result = NULL;
    if (!PyArg_ParseTuple(args, "O!OO:gather_join", &PyTuple_Type, &pieces_obj, &null_obj,
                          &allocate))
        return NULL;
    if (!PyCallable_Check(allocate)) {
        PyErr_SetString(PyExc_TypeError, "allocate must be callable");
        return NULL;
    }
    k = PyTuple_GET_SIZE(pieces_obj);
    if (k < 1 || k > MAX_PIECES) {
        PyErr_Format(PyExc_ValueError, "1 to %d pieces expected, not %zd", MAX_PIECES, k);
        return NULL;
    }
    for (; opened < k; opened++)
        if (open_piece(PyTuple_GET_ITEM(pieces_obj, opened), &pieces[opened], opened, &n) < 0)
            goto done;
    if (get_row_bytes(null_obj, &null, n, "null") < 0)
        goto done;
    if (n >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "more rows than int32 offsets can hold");
        goto done;
    }
    offsets = allocate_buffer(allocate, (n + 1) * (Py_ssize_t)sizeof(int32_t), &offsets_view);
    if (offsets == NULL)
        goto done;
    if ((uintptr_t)offsets_view.buf % sizeof(int32_t) != 0) {
        PyErr_SetString(PyExc_ValueError, "allocate returned offsets not aligned to 4 bytes");
        goto done;
    }
    int32_t *bounds = offsets_view.buf;
    const uint8_t *nulls = null_obj != Py_None ? null.buf : NULL;
    Py_ssize_t bad_row = 0, bad_piece = 0;
    int status;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        status = join_offsets(pieces, k, n, nulls, bounds, &bad_row, &bad_piece);
        ACQUIRE_GIL();
    }
    if (status == -1) {
        PyErr_SetString(PyExc_ValueError, "more than 2 GiB of text: too long for int32 offsets");
        goto done;
    }
    if (status == -2) {
        const Piece *piece = &pieces[bad_piece];
        int64_t j = piece->at[bad_row];
        if (j < 0 || j >= piece->size)
            PyErr_Format(PyExc_IndexError, "index %lld of row %zd is out of piece %zd's %zd "
                         "entries", (long long)j, bad_row, bad_piece, piece->size);
        else
            PyErr_Format(PyExc_ValueError, "piece %zd: offsets of entry %lld are out of its "
                         "data", bad_piece, (long long)j);
        goto done;
    }
    data = allocate_buffer(allocate, bounds[n], &data_view);
    if (data == NULL)
        goto done;
    {
        RELEASE_GIL_IF(n >= GIL_THRESHOLD);
        status = join_bytes(pieces, k, n, bounds, data_view.buf);
        ACQUIRE_GIL();
    }
    if (status < 0) {
        PyErr_SetString(PyExc_ValueError, "an index changed while its strings were joined");
        goto done;
    }
    Py_ssize_t null_count = 0;
    if (nulls != NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            null_count += nulls[i] != 0;
    }
    if (null_count > 0) {
        validity = PyBytes_FromStringAndSize(NULL, (n + 7) / 8);
        if (validity == NULL)
            goto done;
        uint8_t *bits = (uint8_t *)PyBytes_AS_STRING(validity);
        memset(bits, 0, (size_t)((n + 7) / 8));
        for (Py_ssize_t i = 0; i < n; i++)
            bits[i >> 3] |= (uint8_t)((nulls[i] == 0) << (i & 7));
    } else {
        validity = Py_NewRef(Py_None);
    }
    result = Py_BuildValue("OOOn", offsets, data, validity, null_count);
done:
    if (data_view.obj != NULL)
        PyBuffer_Release(&data_view);
    if (offsets_view.obj != NULL)
        PyBuffer_Release(&offsets_view);
    Py_XDECREF(offsets);
    Py_XDECREF(data);
    Py_XDECREF(validity);
    if (null.obj != NULL)
        PyBuffer_Release(&null);
    for (Py_ssize_t p = 0; p < opened; p++) {
        PyBuffer_Release(&pieces[p].index);
        PyBuffer_Release(&pieces[p].data);
        PyBuffer_Release(&pieces[p].offsets);
    }
    return result;
}

static PyMethodDef methods[] = {
    {"hash_bits", hash_bits, METH_VARARGS,
     "hash_bits(key, entity, index, out): random_bits(key, entity, index) into out (uint64); "
     "entity, index (1 value or one per entity) and out are C-contiguous 8-byte integers."},
    {"hash_units", hash_units, METH_VARARGS,
     "hash_units(key, entity, index, out): the floats in [0, 1) from the top 53 of those bits "
     "into out (float64)."},
    {"format_ids", format_ids, METH_VARARGS,
     "format_ids(numbers, prefixes, choice, width) -> (offsets, data): the int32 offsets and "
     "utf-8 data of an Arrow string array of prefixes[choice[i]] + str(numbers[i]) left-padded "
     "with '0' to width; numbers are int64, prefixes a tuple of bytes, choice None (the first "
     "prefix) or one byte per row."},
    {"hash_integers", hash_integers, METH_VARARGS,
     "hash_integers(key, entity, index, low, high, out): Rng.integers' int64 values in "
     "[low, high] into out; low and high hold 1 value or one per entity (int64)."},
    {"hash_categories", hash_categories, METH_VARARGS,
     "hash_categories(key, entity, index, table, rows, out): per entity, the number of entries "
     "of its row of the (n_rows, k) float64 cdf table that are <= its uniform, capped at k - 1, "
     "into out (int64); rows holds 1 row number or one per entity."},
    {"hash_poisson", hash_poisson, METH_VARARGS,
     "hash_poisson(key, entity, index, limit, lam, p0, out): Rng.poisson's counts into out "
     "(int64): steps of p = p * lam / k, cdf += p from p0 = exp(-lam) while the uniform is >= "
     "cdf, at most limit; lam and p0 hold 1 value or one per entity (float64)."},
    {"counting_argsort", counting_argsort, METH_VARARGS,
     "counting_argsort(keys, low, span, out): np.argsort(keys, kind='stable') into out (int64) "
     "for int64 keys that all lie in [low, low + span); ValueError otherwise."},
    {"group_ranks", group_ranks, METH_VARARGS,
     "group_ranks(counts, group, rank): for rows in consecutive groups of counts[g] rows "
     "(int64, none negative), each row's group and 0-based rank in it into group and rank "
     "(int64, sum(counts) each)."},
    {"group_cumsum", group_cumsum, METH_VARARGS,
     "group_cumsum(values, counts, out): running sums of values (int64, wrapping) that restart "
     "at each group of counts[g] rows, into out."},
    {"gather_join", gather_join, METH_VARARGS,
     "gather_join(pieces, null, allocate) -> (offsets, data, validity, null_count): an Arrow "
     "string array's buffers whose row i joins vocabulary_k[index_k[i]] over the pieces, a "
     "tuple of (offsets, data, index): a vocabulary's int32 offsets and utf-8 bytes, an int64 "
     "index per row; null None or one bool per row (True: a null, zero bytes, its indexes "
     "unread); offsets and data are written into allocate(size), a writable buffer (e.g. "
     "pyarrow.allocate_buffer); validity is bytes, or None when no row is null."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Counter-based random draws, integer sorts and group scans, and Arrow strings, one pass "
    "per array.", -1, methods,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
    return PyModule_Create(&module);
}
