namespace Interop.Fhir.Search;

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
