namespace Interop.Fhir.Formats;

public enum FhirFormat { Json, Xml }

/// <summary>How a resource is to be written back: format, indentation and the _summary/_elements subset.</summary>
public sealed record OutputOptions(FhirFormat Format, bool Pretty = false, SummaryMode Summary = SummaryMode.False, string[]? Elements = null)
{
    public static readonly OutputOptions Json = new(FhirFormat.Json);

    /// <summary>True when stored JSON can be sent as it is, without parsing and re-serialising.</summary>
    public bool IsVerbatimJson => Format == FhirFormat.Json && !Pretty && !IsSubset;

    public bool IsSubset => Summary is SummaryMode.True or SummaryMode.Text or SummaryMode.Data || Elements is not null;

    /// <summary>The same format without _summary/_elements (for a bundle whose entries were already cut).</summary>
    public OutputOptions WithoutSubset() => this with { Summary = SummaryMode.False, Elements = null };
}

public enum SummaryMode { False, True, Text, Data, Count }
