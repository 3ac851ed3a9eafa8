/* Counter-based random bits, one pass over each array.
 *
 * ecomlake.rng.hashing.random_bits is splitmix64 twice per value: in numpy that is ~10 passes
 * over every block of values, and the uniform floats made from the bits take three more. Here
 * each value is read once and written once, as bits or as the float in [0, 1) from its top 53.
 *
 * The bits are exactly the numpy results (that code stays as the fallback when this module is
 * not built); tests/unit/test_kernels.py compares the two.
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

static PyMethodDef methods[] = {
    {"hash_bits", hash_bits, METH_VARARGS,
     "hash_bits(key, entity, index, out): random_bits(key, entity, index) into out (uint64); "
     "entity, index (1 value or one per entity) and out are C-contiguous 8-byte integers."},
    {"hash_units", hash_units, METH_VARARGS,
     "hash_units(key, entity, index, out): the floats in [0, 1) from the top 53 of those bits "
     "into out (float64)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels",
    "Counter-based random bits, one pass per array.", -1, methods,
};

PyMODINIT_FUNC PyInit__kernels(void)
{
    return PyModule_Create(&module);
}
