using Interop.Fhir.Search;

namespace Interop.UnitTests;

/// <summary>Values are typed once by the parser; the rewriters work on those types and never on SQL.</summary>
public sealed class RewriterTests
{
    private const string Base = "https://fhir.example.org/fhir";

    private static SearchQuery Parse(string type, string query) =>
        SearchQueryParser.Parse([type], query.Split('&').Select(p => p.Split('=', 2)).Select(kv => new KeyValuePair<string, string>(kv[0], kv[1])), true, 50, 1000);

    private static SearchValue Value(string type, string query) => ((ParamCriterion)Parse(type, query).Criteria.Single()).Values.Single();

    public static TheoryData<string, string, SearchValue> Typed => new()
    {
        { "Patient", "birthdate=ge2020-01", new DateValue(Prefix.Ge, Utc(2020, 1, 1), Utc(2020, 2, 1)) },
        { "Observation", "value-quantity=le5.4|http://unitsofmeasure.org|mg", new QuantityValue(new NumberValue(Prefix.Le, 5.4m, 5.35m, 5.45m), "http://unitsofmeasure.org", "mg") },
        { "Patient", "identifier=urn:a|", new TokenValue(true, "urn:a", null) },
        { "Patient", "identifier=|x", new TokenValue(true, null, "x") },
        { "Observation", "subject=Patient/1/_history/2", new ReferenceValue(ReferenceForm.Key, "Patient/1") },
        { "Observation", "subject:Patient=1", new ReferenceValue(ReferenceForm.Key, "Patient/1") },
        { "Observation", "subject=1", new ReferenceValue(ReferenceForm.Id, "1") },
        { "Observation", "subject=urn:uuid:x", new ReferenceValue(ReferenceForm.Url, "urn:uuid:x") },
        { "Patient", "family:exact=Wáng", new StringValue("wang", "Wáng") },
        { "Patient", "gender:missing=true", new MissingValue(true) },
    };

    private static DateTimeOffset Utc(int y, int m, int d) => new(y, m, d, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Typed))]
    public void Values_are_parsed_once_into_types(string type, string query, SearchValue expected) => Assert.Equal(expected, Value(type, query));

    [Theory]
    [InlineData("birthdate=ge2020&birthdate=le2021", "2020-01-01", "2022-01-01")] // merged: [from, to)
    [InlineData("birthdate=gt2020&birthdate=lt2022", "2021-01-01", "2022-01-01")]
    [InlineData("birthdate=gt2020&birthdate=lt2021", null, null)]                 // empty: left for the SQL to answer none
    [InlineData("birthdate=ge2020", null, null)]                                  // one bound: nothing to merge
    [InlineData("birthdate=ge2020,2021&birthdate=le2021", null, null)]            // OR-ed values are not bounds
    public void Date_bounds_on_one_parameter_merge_into_a_range(string query, string? from, string? to)
    {
        var parsed = Parse("Patient", query);
        var rewritten = QueryRewriters.Apply(parsed.Criteria, Base);
        if (from is null)
        {
            Assert.Equal(parsed.Criteria, rewritten);
            return;
        }
        var range = Assert.IsType<DateRangeCriterion>(Assert.Single(rewritten));
        Assert.Equal(DateTimeOffset.Parse(from + "T00:00:00Z"), range.From);
        Assert.Equal(DateTimeOffset.Parse(to + "T00:00:00Z"), range.To);
    }

    [Theory]
    [InlineData("Observation", "subject=" + Base + "/Patient/7", "Key:Patient/7")]
    [InlineData("Observation", "subject=https://other.example.org/fhir/Patient/7", "Url:https://other.example.org/fhir/Patient/7")]
    [InlineData("Observation", "subject:Patient.general-practitioner=" + Base + "/Practitioner/3", "Key:Practitioner/3")]
    public void References_to_this_server_become_local_keys(string type, string query, string expected)
    {
        var criterion = Assert.Single(QueryRewriters.Apply(Parse(type, query).Criteria, Base));
        while (criterion is ChainCriterion chain) criterion = chain.Targets.Single().Inner;
        var value = (ReferenceValue)((ParamCriterion)criterion).Values.Single();
        Assert.Equal(expected, $"{value.Form}:{value.Value}");
    }
}
