/* event_id digests for a whole table in one call.
 *
 * hashlib costs one Python call and one OpenSSL EVP context per row; on ~70-byte payloads that
 * set-up is most of the work. Here each row's payload is read straight from Arrow string buffers
 * (offsets and data) and constant pieces between them, so Python is entered once per table and
 * the payload is never built as an array of its own (integer keys are written as decimal text
 * in place, not cast to a string column first).
 *
 * On x86 CPUs with the SHA extensions (checked once, when the module loads), rows are hashed two
 * at a time by our own SHA-NI compression: each row's payload and padding are laid out in a
 * buffer of at most MAX_BLOCKS blocks, and the rounds of the two messages are interleaved. A
 * sha256rnds2 waits on the one before it in its message, so one message at a time leaves the
 * unit idle most of the time; the second message's rounds fill those waits. Longer rows, and CPUs
 * (or compilers) without SHA-NI, go through OpenSSL's plain SHA256_* calls: measured at half the
 * CPU of a reused EVP context (the provider look-ups per row are gone). They are deprecated in
 * OpenSSL 3 but shipped; a libcrypto built without them fails this build, and then hashlib is
 * used instead.
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

/* Row i's bytes of `piece` and their count; an integer's text is written into `number`. */
static const unsigned char *piece_bytes(const Piece *piece, Py_ssize_t i,
                                        char number[INT64_TEXT], size_t *len)
{
    if (piece->bounds != NULL) {
        *len = (size_t)(piece->bounds[i + 1] - piece->bounds[i]);
        return (const unsigned char *)piece->data.buf + piece->bounds[i];
    }
    if (piece->ints != NULL) {
        char *end = number + INT64_TEXT, *start = int_text(piece->ints[i], end);
        *len = (size_t)(end - start);
        return (const unsigned char *)start;
    }
    *len = (size_t)piece->data.len;
    return (const unsigned char *)piece->data.buf;
}

/* Row i's digest through OpenSSL; 0 if it failed. */
static int openssl_digest(const Piece *pieces, Py_ssize_t count, Py_ssize_t i,
                          unsigned char digest[DIGEST_LEN])
{
    SHA256_CTX ctx;
    char number[INT64_TEXT];
    int ok = SHA256_Init(&ctx);
    for (Py_ssize_t p = 0; ok && p < count; p++) {
        size_t len;
        const unsigned char *bytes = piece_bytes(&pieces[p], i, number, &len);
        ok = SHA256_Update(&ctx, bytes, len);
    }
    return ok && SHA256_Final(digest, &ctx);
}

static void write_hex(char *out, const char *prefix, Py_ssize_t prefix_len,
                      const unsigned char digest[DIGEST_LEN])
{
    memcpy(out, prefix, (size_t)prefix_len);
    char *hex = out + prefix_len;
    for (int b = 0; b < DIGEST_LEN; b++)
        memcpy(hex + 2 * b, HEX_PAIRS + 2 * digest[b], 2);
}

/* Whether this build and CPU have SHA-NI, and whether hex_digests uses it (unless a test turned
 * it off); set when the module loads. */
static int sha_ni_supported, sha_ni_enabled;

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) /* gcc and clang */
/* Only the functions marked SHA_NI_TARGET are compiled for SHA-NI (an attribute, not a global
 * flag), so the module still loads on CPUs without it; `cpu_has_sha_ni` asks the CPU. */
#define HAVE_SHA_NI_CODE 1
#include <cpuid.h>
#include <immintrin.h>
#define SHA_NI_TARGET __attribute__((target("sha,sse4.1,ssse3")))

/* SSSE3 and SSE4.1 (leaf 1, ECX bits 9 and 19) and the SHA extensions (leaf 7, EBX bit 29). */
static int cpu_has_sha_ni(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !((c >> 9) & 1) || !((c >> 19) & 1))
        return 0;
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((b >> 29) & 1);
}

#define BLOCK_LEN 64
#define MAX_BLOCKS 4 /* event_id payloads take one or two */
#define PADDING_MIN 9 /* 0x80 and the 8-byte length: payloads of up to 247 bytes fit */
#define ROW_LEN (MAX_BLOCKS * BLOCK_LEN)

static const uint32_t ROUND_K[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The byte order that turns little-endian 32-bit lanes into SHA-256's big-endian words. */
#define WORD_BYTES() _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL)

/* One block into each of `count` (1 or 2) states, kept as sha256rnds2 takes them (ABEF, CDGH).
 * Each sha256rnds2 waits on the previous one of its own message; with two messages, one's
 * rounds run while the other's wait. Inlined with a constant count, so nothing stays in memory. */
static inline __attribute__((always_inline)) SHA_NI_TARGET void
compress(__m128i state[][2], int count, const unsigned char *const blocks[2])
{
    __m128i w[2][4], start[2][2];
#pragma GCC unroll 2
    for (int l = 0; l < count; l++) {
        start[l][0] = state[l][0];
        start[l][1] = state[l][1];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            w[l][q] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks[l] + 16 * q)),
                                       WORD_BYTES());
    }
#pragma GCC unroll 16
    for (int g = 0; g < 16; g++) {
#pragma GCC unroll 2
        for (int l = 0; l < count; l++) {
            /* rounds 4g..4g+3, then the words of rounds 4g+16.. in place of the ones just used */
            __m128i *m = w[l];
            __m128i k = _mm_load_si128((const __m128i *)&ROUND_K[4 * g]);
            __m128i words = _mm_add_epi32(m[g & 3], k);
            state[l][1] = _mm_sha256rnds2_epu32(state[l][1], state[l][0], words);
            state[l][0] = _mm_sha256rnds2_epu32(state[l][0], state[l][1],
                                                _mm_shuffle_epi32(words, 0x0e));
            if (g < 12) {
                __m128i next = _mm_add_epi32(_mm_sha256msg1_epu32(m[g & 3], m[(g + 1) & 3]),
                                             _mm_alignr_epi8(m[(g + 3) & 3], m[(g + 2) & 3], 4));
                m[g & 3] = _mm_sha256msg2_epu32(next, m[(g + 3) & 3]);
            }
        }
    }
#pragma GCC unroll 2
    for (int l = 0; l < count; l++) {
        state[l][0] = _mm_add_epi32(state[l][0], start[l][0]);
        state[l][1] = _mm_add_epi32(state[l][1], start[l][1]);
    }
}

/* The digests of `count` (1 or 2) padded rows of blocks[l] blocks each: both together while
 * both have blocks left, then the longer one alone. */
static SHA_NI_TARGET void sha_ni_digests(unsigned char rows[][ROW_LEN], const int blocks[],
                                         int count, unsigned char digests[][DIGEST_LEN])
{
    __m128i state[2][2];
    for (int l = 0; l < count; l++) {
        state[l][0] = _mm_set_epi32(0x6a09e667, (int)0xbb67ae85, 0x510e527f, (int)0x9b05688c);
        state[l][1] = _mm_set_epi32(0x3c6ef372, (int)0xa54ff53a, 0x1f83d9ab, 0x5be0cd19);
    }
    int both = count == 2 ? (blocks[0] < blocks[1] ? blocks[0] : blocks[1]) : 0;
    for (int k = 0; k < both; k++)
        compress(state, 2,
                 (const unsigned char *const[2]){rows[0] + k * BLOCK_LEN, rows[1] + k * BLOCK_LEN});
    for (int l = 0; l < count; l++) {
        for (int k = both; k < blocks[l]; k++)
            compress(&state[l], 1, (const unsigned char *const[2]){rows[l] + k * BLOCK_LEN, NULL});
    }
    for (int l = 0; l < count; l++) {
        /* ABEF, CDGH -> ABCD, EFGH, each word big-endian */
        __m128i feba = _mm_shuffle_epi32(state[l][0], 0x1b);
        __m128i dchg = _mm_shuffle_epi32(state[l][1], 0xb1);
        __m128i abcd = _mm_blend_epi16(feba, dchg, 0xf0);
        __m128i efgh = _mm_alignr_epi8(dchg, feba, 8);
        _mm_storeu_si128((__m128i *)digests[l], _mm_shuffle_epi8(abcd, WORD_BYTES()));
        _mm_storeu_si128((__m128i *)(digests[l] + 16), _mm_shuffle_epi8(efgh, WORD_BYTES()));
    }
}

/* write_hex with SSSE3: each byte's two nibbles look up their digits in one shuffle per 16
 * (one-block payloads: 59 -> 44 ns a row for the whole call). */
static inline SHA_NI_TARGET void write_hex_ssse3(char *out, const char *prefix,
                                                 Py_ssize_t prefix_len,
                                                 const unsigned char digest[DIGEST_LEN])
{
    const __m128i digits = _mm_loadu_si128((const __m128i *)HEX_DIGITS);
    const __m128i low_nibble = _mm_set1_epi8(0x0f);
    memcpy(out, prefix, (size_t)prefix_len);
    char *hex = out + prefix_len;
    for (int half = 0; half < 2; half++) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(digest + 16 * half));
        __m128i high = _mm_shuffle_epi8(digits, _mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibble));
        __m128i low = _mm_shuffle_epi8(digits, _mm_and_si128(bytes, low_nibble));
        _mm_storeu_si128((__m128i *)(hex + 32 * half), _mm_unpacklo_epi8(high, low));
        _mm_storeu_si128((__m128i *)(hex + 32 * half + 16), _mm_unpackhi_epi8(high, low));
    }
}

/* Row i's payload followed by SHA-256's padding (0x80, zeros, the bit length as 64-bit
 * big-endian) in `row`; returns its number of blocks, or 0 if it needs more than MAX_BLOCKS. */
static int padded_row(const Piece *pieces, Py_ssize_t count, Py_ssize_t i,
                      unsigned char row[ROW_LEN])
{
    char number[INT64_TEXT];
    size_t used = 0;
    for (Py_ssize_t p = 0; p < count; p++) {
        size_t len;
        const unsigned char *bytes = piece_bytes(&pieces[p], i, number, &len);
        if (len > ROW_LEN - PADDING_MIN - used)
            return 0;
        memcpy(row + used, bytes, len);
        used += len;
    }
    size_t end = (used + PADDING_MIN + BLOCK_LEN - 1) / BLOCK_LEN * BLOCK_LEN;
    row[used] = 0x80;
    memset(row + used + 1, 0, end - 8 - (used + 1));
    uint64_t bits = (uint64_t)used * 8;
    for (int b = 0; b < 8; b++)
        row[end - 1 - b] = (unsigned char)(bits >> (8 * b));
    return (int)(end / BLOCK_LEN);
}

/* hash_rows through SHA-NI: rows are hashed in pairs as they come (a row too long for the
 * buffer goes through OpenSSL and does not break a pair); an odd last row goes alone. */
static int hash_rows_sha_ni(const Piece *pieces, Py_ssize_t count, Py_ssize_t n,
                            const char *prefix, Py_ssize_t prefix_len, char *out)
{
    Py_ssize_t width = prefix_len + HEX_LEN, pending = -1;
    unsigned char rows[2][ROW_LEN], digests[2][DIGEST_LEN];
    int blocks[2];
    int ok = 1;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        int slot = pending >= 0;
        blocks[slot] = padded_row(pieces, count, i, rows[slot]);
        if (blocks[slot] == 0) {
            ok = openssl_digest(pieces, count, i, digests[slot]);
            write_hex_ssse3(out + i * width, prefix, prefix_len, digests[slot]);
        } else if (slot == 0) {
            pending = i;
        } else {
            sha_ni_digests(rows, blocks, 2, digests);
            write_hex_ssse3(out + pending * width, prefix, prefix_len, digests[0]);
            write_hex_ssse3(out + i * width, prefix, prefix_len, digests[1]);
            pending = -1;
        }
    }
    if (ok && pending >= 0) {
        sha_ni_digests(rows, blocks, 1, digests);
        write_hex_ssse3(out + pending * width, prefix, prefix_len, digests[0]);
    }
    return ok ? 0 : -1;
}
#endif

/* Hash rows [0, n), each the concatenation of its pieces, into `out`, `prefix` + 64 hex digits
 * each, with SHA-NI if `sha_ni`. Returns 0, or -1 if OpenSSL failed (no Python call: the GIL is
 * released). */
static int hash_rows(const Piece *pieces, Py_ssize_t count, Py_ssize_t n, const char *prefix,
                     Py_ssize_t prefix_len, char *out, int sha_ni)
{
#ifdef HAVE_SHA_NI_CODE
    if (sha_ni)
        return hash_rows_sha_ni(pieces, count, n, prefix, prefix_len, out);
#else
    (void)sha_ni;
#endif
    unsigned char digest[DIGEST_LEN];
    int ok = 1;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        ok = openssl_digest(pieces, count, i, digest);
        write_hex(out, prefix, prefix_len, digest);
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
    int failed, sha_ni = sha_ni_enabled;
    Py_BEGIN_ALLOW_THREADS
    failed = hash_rows(pieces, count, n, (const char *)prefix.buf, prefix.len,
                       PyBytes_AS_STRING(result), sha_ni);
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

static PyObject *use_sha_ni(PyObject *self, PyObject *flag)
{
    int on = PyObject_IsTrue(flag);
    if (on < 0)
        return NULL;
    int previous = sha_ni_enabled;
    sha_ni_enabled = on && sha_ni_supported;
    return PyBool_FromLong(previous);
}

static PyMethodDef methods[] = {
    {"hex_digests", hex_digests, METH_VARARGS,
     "hex_digests(n, pieces, prefix) -> bytes: prefix + SHA-256 hex of each of n rows, a row "
     "being its pieces joined: a bytes constant, an (offsets, data) pair of n + 1 int32 "
     "offsets into data (a string column), or an (ints,) 1-tuple of n int64 values written "
     "as decimal text."},
    {"use_sha_ni", use_sha_ni, METH_O,
     "use_sha_ni(flag) -> bool: for tests, hash with SHA-NI (only where HAVE_SHA_NI) or, if "
     "flag is false, through OpenSSL alone; returns the previous setting."},
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
#ifdef HAVE_SHA_NI_CODE
    sha_ni_supported = cpu_has_sha_ni();
#endif
    sha_ni_enabled = sha_ni_supported;
    PyObject *m = PyModule_Create(&module);
    PyObject *have = sha_ni_supported ? Py_True : Py_False;
    if (m != NULL && PyModule_AddObjectRef(m, "HAVE_SHA_NI", have) < 0)
        Py_CLEAR(m);
    return m;
}
