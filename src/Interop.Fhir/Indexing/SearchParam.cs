using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Interop.Fhir.Indexing;

/// <summary>
/// One search parameter of one resource type, with its FHIRPath expression compiled once.
/// Composite parameters carry their components (each compiled relative to the composite's element).
/// </summary>
public sealed record SearchParam(
    string Resource, string Name, SearchParamType Type, string Expression, CompiledExpression? Compiled,
    IReadOnlyList<string> Targets, IReadOnlyList<CompositePart> Components, string Url)
{
    /// <summary>The direct evaluator when the expression fits its grammar (see <see cref="FastPath"/>).</summary>
    public FastPath? Fast { get; init; }

    /// <summary>
    /// The SearchParameter resource (its id) that defined this parameter at run time; null for the specification's and
    /// the guide's files (known at start).
    /// </summary>
    public string? DefinedBy { get; init; }

    /// <summary>
    /// A parameter defined at run time whose existing resources are still being indexed: a search with it would miss
    /// them, so it is refused until the backfill finishes (writes index it already).
    /// </summary>
    public bool Pending { get; init; }

    /// <summary>Parameters answered from columns of the resource table, not from index rows.</summary>
    public bool IsColumn => Name is "_id" or "_lastUpdated";

    /// <summary>Which index table holds this parameter's values.</summary>
    public IndexTable Table => Type switch
    {
        SearchParamType.String => IndexTable.String,
        SearchParamType.Token => IndexTable.Token,
        SearchParamType.Date => IndexTable.Date,
        SearchParamType.Number => IndexTable.Number,
        SearchParamType.Quantity => IndexTable.Quantity,
        SearchParamType.Reference => IndexTable.Reference,
        SearchParamType.Uri => IndexTable.Uri,
        SearchParamType.Composite => IndexTable.Composite,
        _ => IndexTable.Text,
    };
}

public sealed record CompositePart(SearchParamType Type, CompiledExpression Compiled, string Expression);

public enum IndexTable { String, Token, Date, Number, Quantity, Reference, Uri, Composite, Text }
