using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Interop.Fhir.Errors;
using static Hl7.Fhir.Model.OperationOutcome;

namespace Interop.Fhir.Validation;

/// <summary>
/// Validates a resource with Firely's validator: the R4 rules (structure, cardinality, datatypes, invariants,
/// required bindings that expand locally), the core reference target types, and in profiles mode every profile
/// in meta.profile and every profile the configuration enforces on it. Runs outside any database transaction.
/// </summary>
public sealed class ResourceValidator(Conformance conformance, ValidationOptions options, Storage.SearchParamCatalog searchParams) : Transactions.IResourceCheck
{
    Task Transactions.IResourceCheck.Check(Resource resource, CancellationToken ct)
    {
        CheckSearchParameter(resource);
        return Enforce(resource, ct);
    }

    /// <summary>
    /// A SearchParameter is indexed on every write once stored: one the index cannot use is refused (400 naming the
    /// element) in every validation mode, since it is the index's definition, not only content.
    /// </summary>
    public void CheckSearchParameter(Resource resource)
    {
        if (resource is SearchParameter sp) searchParams.Current.Check(sp);
    }

    public ValidationMode Mode => options.Mode;

    /// <summary>For a write: the issues when there is no error (warnings, information); a 422 with all of them otherwise.</summary>
    public async Task<IReadOnlyList<IssueComponent>> Enforce(Resource resource, CancellationToken ct)
    {
        if (options.Mode == ValidationMode.Off) return [];
        var outcome = await Validate(resource, null, options.Mode, ct);
        if (outcome.Issue.Any(IsError))
            throw new FhirException(ErrorKind.Unprocessable, Sorted(outcome));
        return outcome.Issue;
    }

    /// <summary>All issues of <paramref name="resource"/>, also against <paramref name="profile"/> when given ($validate).</summary>
    public async Task<OperationOutcome> Validate(Resource resource, string? profile, ValidationMode mode, CancellationToken ct)
    {
        var outcome = new OperationOutcome();
        if (mode == ValidationMode.Off) return outcome;
        var set = await conformance.Current(ct);
        var type = resource.TypeName;
        var profiles = new List<string>();
        if (mode == ValidationMode.Profiles)
        {
            var claimed = resource.Meta?.Profile.ToList() ?? [];
            for (var i = 0; i < claimed.Count; i++)
            {
                var url = claimed[i]?.Split('|')[0] ?? "";
                if (await Known(set, url, type)) profiles.Add(url);
                else
                    outcome.Issue.Add(Outcomes.Issue(options.UnknownProfileIsError ? IssueSeverity.Error : IssueSeverity.Warning, IssueType.NotSupported,
                        $"The profile {claimed[i]} in meta.profile is not known to this server (it knows the group's profiles, see StructureDefinition?type={type}, and the R4 core).",
                        $"{type}.meta.profile[{i}]"));
            }
            foreach (var rule in options.Enforce)
                if (rule.Type == type && set.Profiles.ContainsKey(rule.Profile) && !profiles.Contains(rule.Profile) && (rule.When is null || resource.IsTrue(rule.When)))
                    profiles.Add(rule.Profile);
        }
        if (profile is not null)
        {
            if (!await Known(set, profile, type))
                throw FhirException.Of(ErrorKind.Invalid, IssueType.NotSupported, $"The profile {profile} is not known to this server, or is not a profile of {type}.", "profile");
            if (!profiles.Contains(profile)) profiles.Add(profile);
        }
        var seen = new HashSet<string>();
        foreach (var result in profiles.Count == 0 ? [set.Validator.Validate(resource)] : profiles.Select(p => set.Validator.Validate(resource, p)))
            foreach (var issue in result.Issue)
                if (seen.Add($"{issue.Severity}|{string.Join(",", issue.Expression)}|{issue.Details?.Text}"))
                    outcome.Issue.Add(Plain(issue));
        ReferenceTypes.Check(resource, outcome);
        foreach (var url in profiles)
            if (set.Profiles.TryGetValue(url, out var sd)) ReferenceTypes.Check(resource, sd, set.Profiles, outcome);
        outcome.Issue.RemoveAll(i => PartialPeriods.FalseAlarm(resource, i) || EmptyProbability.FalseAlarm(resource, i));
        return outcome;
    }

    private static async Task<bool> Known(Conformance.Set set, string url, string type)
    {
        if (set.Profiles.TryGetValue(url, out var sd)) return sd.Type == type || sd.Type is "Resource" or "DomainResource";
        return CoreSpec.IsCore(url) && (await set.Resolver.TryResolveByCanonicalUriAsync(url)).Value is StructureDefinition core && (core.Type == type || core.Type is "Resource" or "DomainResource");
    }

    public static bool IsError(IssueComponent issue) => issue.Severity is IssueSeverity.Error or IssueSeverity.Fatal;

    // Firely puts the message in details.text and its trace in diagnostics: the message is what a vendor's developer reads.
    private static IssueComponent Plain(IssueComponent issue)
    {
        var text = issue.Details?.Text ?? issue.Diagnostics ?? "";
        var plain = Outcomes.Issue(issue.Severity ?? IssueSeverity.Error, issue.Code ?? IssueType.Invalid, text, null);
        plain.Expression = issue.Expression.Concat(issue.Location).Take(1).Select(e => Outcomes.Printable(e ?? "")).ToList();
        return plain;
    }

    private static OperationOutcome Sorted(OperationOutcome outcome) =>
        new() { Issue = outcome.Issue.OrderBy(i => IsError(i) ? 0 : 1).ToList() };
}
