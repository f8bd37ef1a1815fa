using System.Net;
using Hl7.Fhir.Model;
using Interop.Tests.Infrastructure;

namespace Interop.Tests.Search;

/// <summary>Each parameter type with its modifiers and prefixes, on data each test creates.</summary>
public sealed class ParameterTypeTests(FhirServerFixture server) : IClassFixture<FhirServerFixture>
{
    private TestData Data() => new(server.CreateClient());

    [Fact]
    public async Task String_is_case_and_accent_insensitive_starts_with_over_name_parts_and_exact_and_contains()
    {
        var data = Data();
        var renee = await data.Create(new Patient { Name = [new HumanName { Family = "Müller", Given = ["Renée"] }] });
        var other = await data.Create(new Patient { Name = [new HumanName { Family = "Mulan", Given = ["Li"] }], Address = [new Address { City = "Shenzhen" }] });

        Assert.Equal([renee], await data.Ids("/fhir/Patient?name=muller"));
        Assert.Equal([renee], await data.Ids("/fhir/Patient?name=RENEE"));
        Assert.Equal([renee], await data.Ids("/fhir/Patient?given=ren"));
        Assert.Equal(2, (await data.Ids("/fhir/Patient?family=mu")).Count);
        Assert.Equal([renee], await data.Ids("/fhir/Patient?family:exact=Müller"));
        Assert.Empty(await data.Ids("/fhir/Patient?family:exact=muller"));
        Assert.Equal([other], await data.Ids("/fhir/Patient?family:contains=ula"));
        Assert.Equal([other], await data.Ids("/fhir/Patient?address-city=shen"));
        Assert.Equal([other], await data.Ids("/fhir/Patient?address=shenzhen"));
    }

    [Fact]
    public async Task Token_forms_and_modifiers()
    {
        var data = Data();
        var mr = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR");
        var a = await data.Create(new Patient
        {
            Active = true, Gender = AdministrativeGender.Female,
            Identifier = [new Identifier("urn:oid:1.2.3", "A-100") { Type = mr }],
            Telecom = [new ContactPoint(ContactPoint.ContactPointSystem.Phone, null, "+86 755 1234")],
        });
        var b = await data.Create(new Patient { Active = false, Gender = AdministrativeGender.Male, Identifier = [new Identifier(null, "A-100")] });
        var c = await data.Create(new Observation
        {
            Status = ObservationStatus.Final,
            Code = new CodeableConcept { Coding = [new Coding("http://loinc.org", "4548-4", "Hemoglobin A1c")], Text = "HbA1c" },
        });

        Assert.Equal([a], await data.Ids("/fhir/Patient?identifier=urn:oid:1.2.3|A-100"));
        Assert.Equal(2, (await data.Ids("/fhir/Patient?identifier=A-100")).Count);
        Assert.Equal([b], await data.Ids("/fhir/Patient?identifier=|A-100"));
        Assert.Equal([a], await data.Ids("/fhir/Patient?identifier=urn:oid:1.2.3|"));
        Assert.Equal([a], await data.Ids("/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|A-100"));
        Assert.Equal([a], await data.Ids("/fhir/Patient?active=true"));
        Assert.Equal([b], await data.Ids("/fhir/Patient?gender:not=female"));
        Assert.Equal([a], await data.Ids("/fhir/Patient?telecom=" + Uri.EscapeDataString("phone|+86 755 1234")));
        Assert.Equal([a], await data.Ids($"/fhir/Patient?_id={a}"));
        Assert.Equal([b], await data.Ids($"/fhir/Patient?_id:not={a}"));
        Assert.Equal([c], await data.Ids("/fhir/Observation?code=http://loinc.org|4548-4"));
        Assert.Equal([c], await data.Ids("/fhir/Observation?code:text=hemoglobin"));
        Assert.Equal([a], await data.Ids("/fhir/Patient?telecom:missing=false"));
        Assert.Equal([b], await data.Ids("/fhir/Patient?telecom:missing=true"));
    }

    [Fact]
    public async Task Date_prefixes_follow_range_semantics_with_precision()
    {
        var data = Data();
        var p1950 = await data.Create(new Patient { BirthDate = "1950-03-01" });
        var p1960 = await data.Create(new Patient { BirthDate = "1960" });
        var p1970 = await data.Create(new Patient { BirthDate = "1970-12-31" });

        Assert.Equal([p1950], await data.Ids("/fhir/Patient?birthdate=1950"));
        Assert.Equal([p1950], await data.Ids("/fhir/Patient?birthdate=1950-03"));
        Assert.Empty(await data.Ids("/fhir/Patient?birthdate=1960-05-05")); // a year is not contained in a day
        Assert.Equal([p1960], await data.Ids("/fhir/Patient?birthdate=1960"));
        Assert.Equal([p1970], await data.Ids("/fhir/Patient?birthdate=gt1960"));
        Assert.Equal(2, (await data.Ids("/fhir/Patient?birthdate=ge1960")).Count);
        Assert.Equal([p1950], await data.Ids("/fhir/Patient?birthdate=lt1960"));
        Assert.Equal(2, (await data.Ids("/fhir/Patient?birthdate=le1960-06")).Count);
        Assert.Equal(2, (await data.Ids("/fhir/Patient?birthdate=ne1960")).Count);
        Assert.Equal([p1970], await data.Ids("/fhir/Patient?birthdate=sa1960"));
        Assert.Equal([p1950], await data.Ids("/fhir/Patient?birthdate=eb1960"));
        Assert.Equal([p1950], await data.Ids("/fhir/Patient?birthdate=ap1950-03-02"));
        Assert.Equal([p1960], await data.Ids("/fhir/Patient?birthdate=ge1955&birthdate=le1965"));
    }

    [Fact]
    public async Task Date_against_period_overlaps()
    {
        var data = Data();
        var contract = await data.Create(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference("Patient/x"), Period = new Period { Start = "2026-01-01", End = "2026-12-31" } });
        var open = await data.Create(new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference("Patient/x"), Period = new Period { Start = "2027-01-01" } });
        Assert.Equal([contract], await data.Ids("/fhir/EpisodeOfCare?date=2026"));      // eq: the period lies within the year
        Assert.Empty(await data.Ids("/fhir/EpisodeOfCare?date=2026-06"));                 // ...but not within June
        Assert.Equal([contract], await data.Ids("/fhir/EpisodeOfCare?date=ge2026-06-01&date=le2026-06-30")); // overlaps June
        Assert.Equal([open], await data.Ids("/fhir/EpisodeOfCare?date=gt2027-06-01"));
        Assert.Equal(2, (await data.Ids("/fhir/EpisodeOfCare?date=ge2026-12-31")).Count);
        Assert.Equal([contract], await data.Ids("/fhir/EpisodeOfCare?date=gt2026-06&date=lt2026-12-31")); // strict bounds at their precision
        Assert.Empty(await data.Ids("/fhir/EpisodeOfCare?date=gt2026-12-31&date=lt2027-01-01"));

        // A reversed period (start after end) parses but breaks invariant per-1: validation refuses it.
        var reversed = new EpisodeOfCare { Status = EpisodeOfCare.EpisodeOfCareStatus.Active, Patient = new ResourceReference("Patient/x"), Period = new Period { Start = "2025-12-31", End = "2025-01-01" } };
        var refused = await data.Client.PostAsync("/fhir/EpisodeOfCare", FhirTest.Body(reversed));
        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        Assert.Contains("per-1", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Quantity_in_ucum_matches_values_recorded_in_other_units_of_the_same_dimension()
    {
        var data = Data();
        Observation Obs(decimal v, string unit) => new()
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", "2345-7"),
            Value = new Quantity(v, unit) { System = "http://unitsofmeasure.org", Code = unit },
        };
        var mgdl = await data.Create(Obs(120, "mg/dL"));   // = 1.2 g/L
        var gl = await data.Create(Obs(1.5m, "g/L"));       // = 150 mg/dL
        var mmol = await data.Create(Obs(5.4m, "mmol/L")); // another dimension: never compared with mass

        Assert.Equal([gl], await data.Ids("/fhir/Observation?value-quantity=gt1.3|http://unitsofmeasure.org|g/L"));
        Assert.Equal([mgdl], await data.Ids("/fhir/Observation?value-quantity=1.2|http://unitsofmeasure.org|g/L"));
        Assert.Equal([mgdl], await data.Ids("/fhir/Observation?value-quantity=lt13|http://unitsofmeasure.org|g/dL&value-quantity=lt140|http://unitsofmeasure.org|mg/dL"));
        Assert.Equal([mmol], await data.Ids("/fhir/Observation?value-quantity=5400|http://unitsofmeasure.org|umol/L"));
        Assert.Equal([gl], await data.Ids("/fhir/Observation?code-value-quantity=http://loinc.org|2345-7$gt130|http://unitsofmeasure.org|mg/dL"));
        Assert.Equal([mgdl], await data.Ids("/fhir/Observation?value-quantity=120||mg/dL")); // no system: the unit as written

        // A value whose canonical form leaves decimal's range is stored and searched as written, never a 500.
        var huge = await data.Create(Obs(100000000000000000000000000m, "kg"));
        Assert.Equal([huge], await data.Ids("/fhir/Observation?value-quantity=100000000000000000000000000|http://unitsofmeasure.org|kg"));
    }

    [Fact]
    public async Task Quantity_number_and_composite()
    {
        var data = Data();
        Observation Obs(decimal v, string code) => new()
        {
            Status = ObservationStatus.Final, Code = new CodeableConcept("http://loinc.org", code),
            Value = new Quantity(v, "mm[Hg]") { System = "http://unitsofmeasure.org", Code = "mm[Hg]" },
        };
        var high = await data.Create(Obs(150, "8480-6"));
        var normal = await data.Create(Obs(120, "8480-6"));
        var other = await data.Create(Obs(150, "8462-4"));

        Assert.Equal(2, (await data.Ids("/fhir/Observation?value-quantity=gt140")).Count);
        Assert.Equal([normal], await data.Ids("/fhir/Observation?value-quantity=120|http://unitsofmeasure.org|mm[Hg]"));
        Assert.Equal([normal], await data.Ids("/fhir/Observation?value-quantity=le120||mm[Hg]"));
        Assert.Empty(await data.Ids("/fhir/Observation?value-quantity=120||mg"));
        Assert.Equal([high], await data.Ids("/fhir/Observation?code-value-quantity=http://loinc.org|8480-6$gt140"));
        Assert.Equal([other], await data.Ids("/fhir/Observation?code-value-quantity=8462-4$150"));

        var risk = await data.Create(new RiskAssessment { Status = ObservationStatus.Final, Subject = new ResourceReference("Patient/x"), Prediction = [new RiskAssessment.PredictionComponent { Probability = new FhirDecimal(0.25m) }] });
        Assert.Equal([risk], await data.Ids("/fhir/RiskAssessment?probability=gt0.2"));
        Assert.Equal([risk], await data.Ids("/fhir/RiskAssessment?probability=0.25"));
        Assert.Equal([risk], await data.Ids("/fhir/RiskAssessment?probability=0.3")); // 0.3 means [0.25, 0.35)
        Assert.Empty(await data.Ids("/fhir/RiskAssessment?probability=0.30"));
    }

    [Fact]
    public async Task Reference_forms()
    {
        var data = Data();
        var patient = await data.Create(new Patient { Active = true });
        var byRef = await data.Create(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference($"Patient/{patient}") });
        var byIdentifier = await data.Create(new CarePlan { Status = RequestStatus.Active, Intent = CarePlan.CarePlanIntent.Plan, Subject = new ResourceReference { Identifier = new Identifier("urn:resident", "R1") } });

        Assert.Equal([byRef], await data.Ids($"/fhir/CarePlan?subject=Patient/{patient}"));
        Assert.Equal([byRef], await data.Ids($"/fhir/CarePlan?subject={patient}"));
        Assert.Equal([byRef], await data.Ids($"/fhir/CarePlan?subject:Patient={patient}"));
        Assert.Equal([byRef], await data.Ids($"/fhir/CarePlan?patient=http://localhost/fhir/Patient/{patient}"));
        Assert.Equal([byIdentifier], await data.Ids("/fhir/CarePlan?subject:identifier=urn:resident|R1"));
        Assert.Equal([byIdentifier], await data.Ids("/fhir/CarePlan?subject:missing=true"));
    }

    [Fact]
    public async Task Uri_and_common_parameters()
    {
        var data = Data();
        var profiled = await data.Create(new Patient
        {
            Active = true,
            Meta = new Meta { Profile = ["http://hl7.org/fhir/StructureDefinition/Patient"], Source = "urn:station:7", Security = [new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R")] },
            Text = new Narrative { Status = Narrative.NarrativeStatus.Generated, Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">Resident with hypertension</div>" },
        });
        var plain = await data.Create(new Patient { Active = true, Name = [new HumanName { Family = "Guo", Text = "diabetic resident" }] });

        Assert.Equal([profiled], await data.Ids("/fhir/Patient?_profile=http://hl7.org/fhir/StructureDefinition/Patient"));
        Assert.Equal([profiled], await data.Ids("/fhir/Patient?_profile:below=http://hl7.org/fhir/StructureDefinition/"));
        Assert.Equal([profiled], await data.Ids("/fhir/Patient?_source=urn:station:7"));
        Assert.Equal([profiled], await data.Ids("/fhir/Patient?_security=R"));
        Assert.Equal([profiled], await data.Ids("/fhir/Patient?_text=hypertension"));
        Assert.Equal([plain], await data.Ids("/fhir/Patient?_content=diabetic"));
        Assert.Equal(2, (await data.Ids($"/fhir/Patient?_lastUpdated=gt{DateTimeOffset.UtcNow.AddMinutes(-5):yyyy-MM-ddTHH:mm:ssZ}")).Count);
        Assert.Empty(await data.Ids($"/fhir/Patient?_lastUpdated=gt{DateTimeOffset.UtcNow.AddMinutes(5):yyyy-MM-ddTHH:mm:ssZ}"));
    }

    [Fact]
    public async Task Repeated_parameter_is_and_each_value_may_match_a_different_element_comma_is_or()
    {
        var data = Data();
        var both = await data.Create(new Patient { Name = [new HumanName { Given = ["Ann"] }, new HumanName { Given = ["Bea"] }] });
        var ann = await data.Create(new Patient { Name = [new HumanName { Given = ["Ann"] }] });
        var cy = await data.Create(new Patient { Name = [new HumanName { Given = ["Cy"] }] });
        Assert.Equal([both], await data.Ids("/fhir/Patient?given=ann&given=bea"));
        Assert.Equal(new[] { both, ann, cy }.Order(), (await data.Ids("/fhir/Patient?given=ann,cy")).Order());
        Assert.Equal(new[] { ann, cy }.Order(), (await data.Ids($"/fhir/Patient?given=ann,cy&_id:not={both}")).Order());
    }

    [Fact]
    public async Task Malformed_values_are_400_naming_the_parameter()
    {
        var data = Data();
        foreach (var (query, param) in new[]
                 {
                     ("/fhir/Patient?birthdate=1950-13", "birthdate"), ("/fhir/Patient?birthdate=xx1950", "birthdate"),
                     ("/fhir/Observation?value-quantity=abc", "value-quantity"), ("/fhir/Patient?gender:below=x", "gender:below"),
                     ("/fhir/Patient?_count=many", "_count"), ("/fhir/Patient?_sort=nonsense", "_sort"),
                     ("/fhir/Patient?active:missing=maybe", "active:missing"), ("/fhir/Observation?code-value-quantity=x", "code-value-quantity"),
                 })
        {
            var response = await data.Client.GetAsync(query);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, query);
            Assert.Equal(param, (await response.Issues())[0].Expression);
        }
    }

    [Fact]
    public async Task Unknown_parameters_warn_when_lenient_and_fail_when_strict()
    {
        var data = Data();
        await data.Create(new Patient { Active = true });
        var lenient = await data.Search("/fhir/Patient?nonsense=1");
        Assert.Single(TestData.Matches(lenient));
        var outcome = lenient["entry"]!.AsArray().Single(e => e!["search"]!["mode"]!.GetValue<string>() == "outcome");
        Assert.Contains("nonsense", outcome!["resource"]!["issue"]![0]!["diagnostics"]!.GetValue<string>());

        var strict = new HttpRequestMessage(HttpMethod.Get, data.Scoped("/fhir/Patient?nonsense=1"));
        strict.Headers.Add("Prefer", "handling=strict");
        var response = await data.Client.SendAsync(strict);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("nonsense", (await response.Issues())[0].Expression);
    }
}
