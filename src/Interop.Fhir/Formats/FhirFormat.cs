namespace Interop.Fhir.Formats;

public enum FhirFormat { Json, Xml }

/// <summary>How a resource is to be written back: format, indentation and the _summary/_elements subset.</summary>
public sealed record OutputOptions(FhirFormat Format, bool Pretty = false, SummaryMode Summary = SummaryMode.False, string[]? Elements = null)
{
    public static readonly OutputOptions Json = new(FhirFormat.Json);

    /// <summary>True when stored JSON can be sent as it is, without parsing and re-serialising.</summary>
    public bool IsVerbatimJson => Format == FhirFormat.Json && !Pretty && Summary == SummaryMode.False && Elements is null;
}

public enum SummaryMode { False, True, Text, Data, Count }
