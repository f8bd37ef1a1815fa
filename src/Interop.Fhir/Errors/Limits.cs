namespace Interop.Fhir.Errors;

/// <summary>
/// The bounds every request is held to, checked before the work they protect (parsing, compiling, SQL). The README's
/// "Limits" section lists them with the errors they give.
/// </summary>
public static class Limits
{
    /// <summary>Nesting depth of a JSON body (objects and arrays); deeper is 400 before the parser recurses.</summary>
    public const int JsonDepth = 100;
    /// <summary>Element depth of an XML body; an XML level becomes up to two JSON levels.</summary>
    public const int XmlDepth = 50;
    /// <summary>Depth when reading JSON this server wrote itself (within the limits above).</summary>
    public const int StoredJsonDepth = 256;
    /// <summary>Characters of a FHIRPath expression in a patch, and how deep its brackets may nest.</summary>
    public const int FhirPathLength = 1000;
    public const int FhirPathNesting = 16;
    /// <summary>Criteria (parameter occurrences) in one search, comma-separated values in one parameter.</summary>
    public const int SearchCriteria = 40;
    public const int SearchValues = 100;
    /// <summary>Hops of a chain (a.b.c) and nested _has in one parameter; _include/_revinclude and _sort entries.</summary>
    public const int ChainDepth = 4;
    public const int Includes = 20;
    public const int SortKeys = 8;
    /// <summary>Bytes (UTF-8) of a string, token, uri or reference value that the search index keeps and compares.</summary>
    public const int IndexedText = 480;
    /// <summary>Bytes (UTF-8) of narrative, and of all of a resource's text, that _text and _content search.</summary>
    public const int IndexedFullText = 300_000;
    /// <summary>Characters of the request target (path and query) and bytes of all request headers.</summary>
    public const int RequestTarget = 8192;
    public const int RequestHeaders = 32 * 1024;
    public const int RequestHeaderCount = 100;
}
