using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Interop.Fhir.Storage;

/// <summary>
/// The compact key of a resource: a 64-bit number derived from its "{type}/{id}" key (the first 8 bytes of the
/// key's MD5, big-endian, signed), used in every index row instead of the key's text. Being derived, it needs no
/// lookup or allocation: the writer, the search compiler and SQL (<c>fhir.key_rid(text)</c>, the same
/// computation) all get it from the key, and a reference's target has its number before the target exists.
/// The resource table holds it in a column with a unique index (a Marten duplicated field), so two keys that ever
/// shared a number could not both be stored (a write would fail rather than mix two resources' index rows); with
/// 2^64 values the chance among 100 million resources is about 3 in 10,000,000.
/// </summary>
public static class CompactKeys
{
    public static long Rid(string key)
    {
        Span<byte> hash = stackalloc byte[16];
        MD5.HashData(Encoding.UTF8.GetBytes(key), hash);
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }

    /// <summary>The SQL definition (migration 3): the same number from the same key.</summary>
    public const string Function = $"""
        create or replace function {StorageSetup.Schema}.key_rid(key text) returns bigint
        language sql immutable parallel safe strict
        as $$ select ('x' || substr(md5(key), 1, 16))::bit(64)::bigint $$
        """;
}
