using System.Text;

namespace Interop.Fhir.Indexing;

/// <summary>The search values extracted from one resource version, one list per index table.</summary>
public sealed class IndexRows
{
    public List<(string Param, string Value, string Exact)> Strings { get; } = [];
    public List<(string Param, string? System, string? Code, string? Text, string? TypeKey)> Tokens { get; } = [];
    public List<(string Param, DateTimeOffset Lo, DateTimeOffset Hi)> Dates { get; } = [];
    public List<(string Param, decimal Value)> Numbers { get; } = [];
    /// <summary>A quantity as recorded, and its UCUM canonical unit and value when it has one.</summary>
    public List<(string Param, string? System, string? Code, string? Unit, decimal Value, string? CanonCode, decimal? CanonValue)> Quantities { get; } = [];
    public List<(string Param, string? TargetType, string? TargetId, string? Url)> References { get; } = [];
    public List<(string Param, string Value)> Uris { get; } = [];
    public List<CompositeRow> Composites { get; } = [];
    public string Narrative { get; set; } = "";
    public string Content { get; set; } = "";

    public int Count => Strings.Count + Tokens.Count + Dates.Count + Numbers.Count + Quantities.Count + References.Count + Uris.Count + Composites.Count;
}

/// <summary>A composite value: a token first component and a second component of one of several types.</summary>
public sealed record CompositeRow(
    string Param, string? System, string? Code,
    string? ValueSystem = null, string? ValueCode = null, decimal? Number = null,
    DateTimeOffset? Lo = null, DateTimeOffset? Hi = null, string? Text = null,
    string? CanonCode = null, decimal? CanonNumber = null);

/// <summary>
/// Index columns keep a bounded prefix of long text, so that every valid resource can be stored (a btree row holds
/// at most ~2.7 kB and the widest index has five text columns; a tsvector at most 1 MB). Search values are cut the
/// same way before they are compared, so a value longer than the bound matches on its first
/// <see cref="Errors.Limits.IndexedText"/> bytes (UTF-8).
/// </summary>
public static class IndexText
{
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public static string? Bound(string? text) => Bound(text, Errors.Limits.IndexedText);

    /// <summary><paramref name="text"/> cut to at most <paramref name="maxBytes"/> UTF-8 bytes, on a character boundary.</summary>
    [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(text))]
    public static string? Bound(string? text, int maxBytes)
    {
        if (text is null || text.Length * 3 <= maxBytes || Encoding.UTF8.GetByteCount(text) <= maxBytes) return text;
        var bytes = 0;
        var i = 0;
        while (i < text.Length)
        {
            var width = char.IsSurrogatePair(text, i) ? 2 : 1;
            var size = width == 2 ? 4 : text[i] < 0x80 ? 1 : text[i] < 0x800 ? 2 : 3;
            if (bytes + size > maxBytes) break;
            bytes += size;
            i += width;
        }
        return text[..i];
    }
}
