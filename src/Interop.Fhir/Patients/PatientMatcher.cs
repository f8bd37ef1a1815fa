using Interop.Fhir.Indexing;
using Hl7.Fhir.Model;
using Interop.Fhir.Formats;
using Interop.Fhir.Search;
using Interop.Fhir.Storage;

namespace Interop.Fhir.Patients;

public sealed record PatientMatch(StoredVersion Version, Patient Patient, decimal Score, string Grade);

/// <summary>
/// Patient/$match (http://hl7.org/fhir/R4/patient-operation-match.html): the same resident registered by a
/// station and a hospital. A shared identifier is a certain match; otherwise candidates with the same birth
/// date (or the same family name) are scored on name, birth date, gender, address and telecom.
/// </summary>
public sealed class PatientMatcher(SearchService search)
{
    /// <param name="policy">For a caller acting for an institution: only residents the access policy lets it see are candidates (in each search's SQL).</param>
    public async Task<List<PatientMatch>> Match(Patient input, int count, bool onlyCertain, CancellationToken ct, InstitutionAccess? policy = null)
    {
        var candidates = new Dictionary<string, StoredVersion>();
        async Task Add(params (string, string)[] criteria)
        {
            var query = SearchQueryParser.Parse(["Patient"], criteria.Select(c => new KeyValuePair<string, string>(c.Item1, c.Item2)), strict: true, 200, 200);
            query.Total = TotalMode.None;
            query.Policy = policy;
            foreach (var hit in (await search.Search(query, "", false, ct)).Hits) candidates.TryAdd(hit.Version.Key, hit.Version);
        }
        foreach (var id in input.Identifier.Where(i => i.Value is not null))
            await Add(("identifier", id.System is null ? id.Value! : $"{id.System}|{id.Value}"));
        if (input.BirthDate is { } birthDate) await Add(("birthdate", birthDate));
        foreach (var family in input.Name.Select(n => n.Family).OfType<string>().Distinct())
            await Add(("family:exact", family));

        var matches = new List<PatientMatch>();
        foreach (var candidate in candidates.Values)
        {
            var patient = (Patient)FhirSerialization.ParseStored(candidate.Json!);
            var score = Score(input, patient);
            var grade = score >= 0.95m ? "certain" : score >= 0.8m ? "probable" : score >= 0.5m ? "possible" : "certainly-not";
            if (grade == "certainly-not" || onlyCertain && grade != "certain") continue;
            matches.Add(new PatientMatch(candidate, patient, score, grade));
        }
        return matches.OrderByDescending(m => m.Score).ThenBy(m => m.Version.Key, StringComparer.Ordinal).Take(count).ToList();
    }

    public static decimal Score(Patient input, Patient candidate)
    {
        static string N(string? s) => s is null ? "" : IndexExtractor.Normalize(s);
        var sharedIdentifier = input.Identifier.Any(a => a.Value is not null &&
            candidate.Identifier.Any(b => b.Value == a.Value && (a.System is null || b.System is null || a.System == b.System)));
        if (sharedIdentifier) return 1m;

        decimal score = 0;
        var families = candidate.Name.Select(n => N(n.Family)).Where(f => f != "").ToHashSet();
        var givens = candidate.Name.SelectMany(n => n.Given).Select(N).ToHashSet();
        if (input.Name.Any(n => families.Contains(N(n.Family)))) score += 0.3m;
        if (input.Name.SelectMany(n => n.Given).Any(g => givens.Contains(N(g)))) score += 0.2m;
        if (input.BirthDate is not null && input.BirthDate == candidate.BirthDate) score += 0.3m;
        if (input.Gender is not null && input.Gender == candidate.Gender) score += 0.1m;
        var cities = candidate.Address.Select(a => N(a.City)).Where(c => c != "").ToHashSet();
        var lines = candidate.Address.SelectMany(a => a.Line).Select(N).ToHashSet();
        if (input.Address.Any(a => cities.Contains(N(a.City)) && a.Line.Any(l => lines.Contains(N(l))))) score += 0.05m;
        var telecoms = candidate.Telecom.Select(t => new string(N(t.Value).Where(char.IsLetterOrDigit).ToArray())).Where(t => t != "").ToHashSet();
        if (input.Telecom.Any(t => telecoms.Contains(new string(N(t.Value).Where(char.IsLetterOrDigit).ToArray())))) score += 0.05m;
        return score;
    }
}
