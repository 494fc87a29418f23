/* uid.c — UIDs from hashes: DicomEdit's hashUID (SHA-1 name-based UUID,
 * "2.25." + decimal), and dqr's secret-keyed UIDs for the Annex E U action
 * and mapUID (HMAC-SHA256, so the same input and secret give the same UID in
 * every run, and nobody without the secret can link output to input). */
#include "anon/engine.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

/* Decimal text of a 128-bit big-endian unsigned integer. */
static void u128_decimal(const uint8_t b[16], char *out, size_t cap)
{
    unsigned __int128 v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | b[i];
    char tmp[48];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v && n < sizeof tmp);
    size_t o = 0;
    while (n && o + 1 < cap)
        out[o++] = tmp[--n];
    out[o] = '\0';
}

void anon_hash_uid(const char *value, char out[64])
{
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(value, strlen(value), digest, &len, EVP_sha1(), NULL);
    digest[6] = (uint8_t)((digest[6] & 0x0F) | 0x50); /* version 5 */
    digest[8] = (uint8_t)((digest[8] & 0x3F) | 0x80); /* IETF variant */
    memcpy(out, "2.25.", 5);
    u128_decimal(digest, out + 5, 64 - 5);
}

void anon_secret_uid(const anon_engine *e, const char *root, const char *uid, char out[64])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    /* key = secret; message = root '\0' uid, so different roots never collide */
    size_t rl = strlen(root), ul = strlen(uid);
    uint8_t msg[512];
    size_t n = rl + 1 + ul < sizeof msg ? rl + 1 + ul : sizeof msg;
    memcpy(msg, root, rl < n ? rl : n);
    if (rl < n) {
        msg[rl] = 0;
        memcpy(msg + rl + 1, uid, n - rl - 1);
    }
    HMAC(EVP_sha256(), e->settings.uid_secret, sizeof e->settings.uid_secret, msg, n, mac, &len);
    mac[6] = (uint8_t)((mac[6] & 0x0F) | 0x80); /* UUID version 8: custom */
    mac[8] = (uint8_t)((mac[8] & 0x3F) | 0x80);
    char digits[48];
    u128_decimal(mac, digits, sizeof digits);
    size_t room = 64 - 1 - rl - 1; /* root + '.' + digits must fit a UI (64) */
    if (strlen(digits) > room)
        digits[room] = '\0';
    snprintf(out, 64, "%s.%s", root, digits);
}
