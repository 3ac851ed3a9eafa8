/* event_id digests for a whole table in one call.
 *
 * hashlib costs one Python call and one OpenSSL EVP context per row; on ~70-byte payloads that
 * set-up is most of the work. Here each row's payload is read straight from Arrow string buffers
 * (offsets and data) and constant pieces between them, so Python is entered once per table and
 * the payload is never built as an array of its own (integer keys are written as decimal text
 * in place, not cast to a string column first); each row goes through OpenSSL's plain
 * SHA256_* calls: measured at half the CPU of a reused EVP context (the provider look-ups per row
 * are gone), and they use the same SHA-NI/AVX block code. They are deprecated in OpenSSL 3 but
 * shipped; a libcrypto built without them fails this build, and then hashlib is used instead.
 */
#define OPENSSL_API_COMPAT 0x10101000L /* the SHA256_* calls, without deprecation warnings */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <string.h>

#define DIGEST_LEN 32
#define HEX_LEN (2 * DIGEST_LEN)

static const char HEX_DIGITS[] = "0123456789abcdef";
/* The two hex digits of every byte value: one 2-byte copy per digest byte instead of two
 * nibble look-ups (10 ns of ~130 a row). Filled when the module loads. */
static char HEX_PAIRS[2 * 256];

/* One piece of every row's payload: the same bytes each row, row i's slice
 * data[offsets[i]:offsets[i + 1]] of a string column (`bounds`), or the decimal text of row i's
 * value of an int64 column (`ints`): the text pyarrow's cast and json.dumps give, written here so
 * that integer keys need no string column of their own. */
typedef struct {
    Py_buffer data;
    Py_buffer offsets;
    const int32_t *bounds; /* set for a string column */
    const int64_t *ints;   /* set for an int64 column (`data` holds it) */
} Piece;

#define INT64_TEXT 20 /* "-9223372036854775808" */

/* The decimal text of `value`, written to end at `end`; returns where it starts. */
static char *int_text(int64_t value, char *end)
{
    uint64_t magnitude = value < 0 ? (uint64_t)0 - (uint64_t)value : (uint64_t)value;
    char *start = end;
    do {
        *--start = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    if (value < 0)
        *--start = '-';
    return start;
}

/* Hash rows [0, n), each the concatenation of its pieces, into `out`, `prefix` + 64 hex digits
 * each. Returns 0, or -1 if OpenSSL failed (no Python call: the GIL is released). */
static int hash_rows(const Piece *pieces, Py_ssize_t count, Py_ssize_t n, const char *prefix,
                     Py_ssize_t prefix_len, char *out)
{
    SHA256_CTX ctx;
    unsigned char digest[DIGEST_LEN];
    char number[INT64_TEXT];
    int ok = 1;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        ok = SHA256_Init(&ctx);
        for (Py_ssize_t p = 0; ok && p < count; p++) {
            const Piece *piece = &pieces[p];
            const unsigned char *bytes = (const unsigned char *)piece->data.buf;
            size_t len = (size_t)piece->data.len;
            if (piece->bounds != NULL) {
                bytes += piece->bounds[i];
                len = (size_t)(piece->bounds[i + 1] - piece->bounds[i]);
            } else if (piece->ints != NULL) {
                char *end = number + INT64_TEXT;
                bytes = (const unsigned char *)int_text(piece->ints[i], end);
                len = (size_t)(end - (const char *)bytes);
            }
            ok = SHA256_Update(&ctx, bytes, len);
        }
        ok = ok && SHA256_Final(digest, &ctx);
        memcpy(out, prefix, (size_t)prefix_len);
        char *hex = out + prefix_len;
        for (int b = 0; b < DIGEST_LEN; b++)
            memcpy(hex + 2 * b, HEX_PAIRS + 2 * digest[b], 2);
        out += prefix_len + HEX_LEN;
    }
    return ok ? 0 : -1;
}

/* Bounds that a bad caller could get wrong; checked once, so the loop can trust them. */
static int check_column(const Piece *piece, Py_ssize_t n, Py_ssize_t index)
{
    if (piece->offsets.len != (n + 1) * (Py_ssize_t)sizeof(int32_t)) {
        PyErr_Format(PyExc_ValueError, "piece %zd: offsets must hold n + 1 = %zd int32 values",
                     index, n + 1);
        return -1;
    }
    const int32_t *offsets = piece->bounds;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (offsets[i] < 0 || offsets[i + 1] < offsets[i]) {
            PyErr_Format(PyExc_ValueError, "piece %zd: offsets must not decrease (row %zd)",
                         index, i);
            return -1;
        }
    }
    if (n > 0 && offsets[n] > piece->data.len) {
        PyErr_Format(PyExc_ValueError, "piece %zd: offsets point past the end of the data", index);
        return -1;
    }
    return 0;
}

/* An int64 column: n C-contiguous 8-byte signed integers; -1 with an error set. */
static int take_ints(PyObject *values, Piece *piece, Py_ssize_t n, Py_ssize_t index)
{
    if (PyObject_GetBuffer(values, &piece->data, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *format = piece->data.format;
    if (format != NULL && (format[0] == '<' || format[0] == '=' || format[0] == '@'))
        format++;
    int is_int64 = format != NULL && (format[0] == 'q' || format[0] == 'l') && format[1] == 0;
    if (!is_int64 || piece->data.itemsize != 8 || piece->data.len != n * 8) {
        PyErr_Format(PyExc_ValueError, "piece %zd: an int column holds n = %zd int64 values",
                     index, n);
        PyBuffer_Release(&piece->data);
        return -1;
    }
    piece->ints = (const int64_t *)piece->data.buf;
    return 0;
}

/* Fill `piece` from a bytes-like constant, an (offsets, data) pair or an (int64 values,) 1-tuple;
 * -1 with an error set. */
static int take_piece(PyObject *item, Piece *piece, Py_ssize_t n, Py_ssize_t index)
{
    piece->bounds = NULL;
    piece->ints = NULL;
    if (PyTuple_Check(item)) {
        if (PyTuple_GET_SIZE(item) == 1)
            return take_ints(PyTuple_GET_ITEM(item, 0), piece, n, index);
        if (PyTuple_GET_SIZE(item) != 2) {
            PyErr_Format(PyExc_TypeError,
                         "piece %zd: a column is an (offsets, data) pair or an (ints,) 1-tuple",
                         index);
            return -1;
        }
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(item, 0), &piece->offsets, PyBUF_SIMPLE) < 0)
            return -1;
        piece->bounds = (const int32_t *)piece->offsets.buf;
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(item, 1), &piece->data, PyBUF_SIMPLE) < 0) {
            PyBuffer_Release(&piece->offsets);
            return -1;
        }
        if (check_column(piece, n, index) < 0) {
            PyBuffer_Release(&piece->offsets);
            PyBuffer_Release(&piece->data);
            return -1;
        }
        return 0;
    }
    return PyObject_GetBuffer(item, &piece->data, PyBUF_SIMPLE);
}

static void release_pieces(Piece *pieces, Py_ssize_t count)
{
    for (Py_ssize_t p = 0; p < count; p++) {
        PyBuffer_Release(&pieces[p].data);
        if (pieces[p].bounds != NULL)
            PyBuffer_Release(&pieces[p].offsets);
    }
}

static PyObject *hex_digests(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    PyObject *parts;
    Py_buffer prefix;
    if (!PyArg_ParseTuple(args, "nO!y*:hex_digests", &n, &PyTuple_Type, &parts, &prefix))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(parts), taken = 0;
    Piece *pieces = PyMem_Calloc(count ? (size_t)count : 1, sizeof(Piece));
    Py_ssize_t width = prefix.len + HEX_LEN;
    if (pieces == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n must be >= 0");
        goto done;
    }
    for (; taken < count; taken++) {
        if (take_piece(PyTuple_GET_ITEM(parts, taken), &pieces[taken], n, taken) < 0)
            goto done;
    }
    if (n > PY_SSIZE_T_MAX / width) {
        PyErr_NoMemory();
        goto done;
    }
    result = PyBytes_FromStringAndSize(NULL, n * width);
    if (result == NULL)
        goto done;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = hash_rows(pieces, count, n, (const char *)prefix.buf, prefix.len,
                       PyBytes_AS_STRING(result));
    Py_END_ALLOW_THREADS
    if (failed) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL SHA-256 failed");
    }
done:
    if (pieces != NULL) {
        release_pieces(pieces, taken);
        PyMem_Free(pieces);
    }
    PyBuffer_Release(&prefix);
    return result;
}

static PyMethodDef methods[] = {
    {"hex_digests", hex_digests, METH_VARARGS,
     "hex_digests(n, pieces, prefix) -> bytes: prefix + SHA-256 hex of each of n rows, a row "
     "being its pieces joined: a bytes constant, an (offsets, data) pair of n + 1 int32 "
     "offsets into data (a string column), or an (ints,) 1-tuple of n int64 values written "
     "as decimal text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sha256batch",
    "SHA-256 of every row of a table's payload pieces in one call.", -1, methods,
};

PyMODINIT_FUNC PyInit__sha256batch(void)
{
    for (int b = 0; b < 256; b++) {
        HEX_PAIRS[2 * b] = HEX_DIGITS[b >> 4];
        HEX_PAIRS[2 * b + 1] = HEX_DIGITS[b & 0x0f];
    }
    return PyModule_Create(&module);
}
