using Interop.Fhir.Errors;
using Interop.Fhir.Model;
using Interop.Fhir.Search;

namespace Interop.Fhir.Subscriptions;

/// <summary>
/// A Subscription's criteria, <c>Type?name=value&amp;…</c> (R4: a search URL relative to the base), as a search of that
/// type. The same parser as a REST search reads it, strictly: an unknown parameter or a malformed value is refused.
/// A notification is due when the search, with <c>_id</c> of the changed resource added, finds it.
/// </summary>
public sealed record SubscriptionCriteria(string Type, IReadOnlyList<KeyValuePair<string, string>> Parameters)
{
    /// <summary>Types that cannot be subscribed to: the access log has rules of its own, and subscriptions would notify of their own state.</summary>
    private static readonly HashSet<string> Excluded = ["AuditEvent", "Subscription"];

    /// <summary>Parses and checks the criteria; a 422 naming Subscription.criteria says what is wrong.</summary>
    public static SubscriptionCriteria Parse(string? criteria)
    {
        if (string.IsNullOrWhiteSpace(criteria))
            throw Invalid("A Subscription needs criteria: a search such as Task?owner=Organization/hospital-1&status=requested.");
        var question = criteria.IndexOf('?');
        var type = question < 0 ? criteria : criteria[..question];
        if (!ResourceTypes.All.Contains(type))
            throw Invalid($"The criteria '{criteria}' must start with a resource type (Type?parameters); '{type}' is not one.");
        if (Excluded.Contains(type))
            throw Invalid($"{type} resources cannot be subscribed to.");
        var parameters = new List<KeyValuePair<string, string>>();
        foreach (var part in question < 0 ? [] : criteria[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) throw Invalid($"The criteria's '{part}' is not name=value.");
            parameters.Add(new(Unescape(part[..eq]), Unescape(part[(eq + 1)..])));
        }
        foreach (var (name, _) in parameters)
            if (name.StartsWith("_include", StringComparison.Ordinal) || name.StartsWith("_revinclude", StringComparison.Ordinal) || name is "_cursor" or "_sort" or "_count" or "_total")
                throw Invalid($"The criteria select resources; '{name}' shapes a search's answer and has no meaning here.");
        var parsed = new SubscriptionCriteria(type, parameters);
        try
        {
            parsed.Search(null);
        }
        catch (FhirException e)
        {
            throw Invalid($"The criteria '{criteria}' are not a valid {type} search: {e.Message}");
        }
        return parsed;
    }

    /// <summary>The search the criteria stand for; with <paramref name="id"/>, restricted to that one resource.</summary>
    public SearchQuery Search(string? id)
    {
        IEnumerable<KeyValuePair<string, string>> parameters = id is null ? Parameters : [.. Parameters, new("_id", id)];
        return SearchQueryParser.Parse([Type], parameters, strict: true, defaultCount: 1, maxCount: 1);
    }

    private static string Unescape(string text)
    {
        try
        {
            return Uri.UnescapeDataString(text.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            throw Invalid($"The criteria's '{text}' is not correctly percent-encoded.");
        }
    }

    private static FhirException Invalid(string message) =>
        FhirException.Of(ErrorKind.Unprocessable, Hl7.Fhir.Model.OperationOutcome.IssueType.Invalid, message, "Subscription.criteria");
}
