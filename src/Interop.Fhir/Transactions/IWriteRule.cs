using Hl7.Fhir.Model;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Transactions;

/// <summary>
/// A rule of the group's workflows that a write must keep (one active contract per resident, a referral task's
/// state machine). Rules run inside the write's database transaction, after references are resolved and before
/// anything is stored, on the version the write replaces: a concurrent change of that version collides and the
/// write is checked again on the new one. A rule may stamp the resource (a task's lastModified).
/// </summary>
public interface IWriteRule
{
    /// <summary>Whether writes of this type can concern the rule at all (they then take the transactional path).</summary>
    bool Governs(string type);

    /// <summary>Throws a FhirException (409 conflict, 422 business rule, 403) when the write breaks the rule.</summary>
    Task Check(RuleWrite write, CancellationToken ct);
}

/// <summary>One write as a rule sees it.</summary>
/// <param name="Resource">The resource to be stored (references resolved; may be stamped by the rule).</param>
/// <param name="Previous">The current version it replaces, or null for a new resource.</param>
/// <param name="Pending">Every write of the same transaction by "Type/id" (null: deleted), which the database cannot show yet.</param>
public sealed record RuleWrite(
    Resource Resource, StoredVersion? Previous, WriteContext Writer, UnitOfWork Unit, string BaseUrl,
    IReadOnlyDictionary<string, Resource?> Pending)
{
    private readonly Lazy<Resource?> _before = new(() => Previous?.Json is { } json ? Formats.FhirSerialization.ParseStored(json) : null);

    /// <summary>The version the write replaces, parsed once for every rule that asks (null for a new resource).</summary>
    public Resource? Before => _before.Value;

    /// <summary>The server's own tools (import, seed) load history as it was: rules about how a workflow starts do not apply.</summary>
    public bool Trusted => Writer.Trusted;
}

/// <summary>The registered rules, asked in order.</summary>
public sealed class WriteRules(IEnumerable<IWriteRule> rules)
{
    private readonly IWriteRule[] _rules = rules.ToArray();

    public bool Govern(string type) => _rules.Any(r => r.Governs(type));

    public async Task Check(RuleWrite write, CancellationToken ct)
    {
        foreach (var rule in _rules)
            if (rule.Governs(write.Resource.TypeName)) await rule.Check(write, ct);
    }
}
