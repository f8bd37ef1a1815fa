using Interop.Fhir.Scopes;

namespace Interop.UnitTests;

/// <summary>SMART App Launch 2.0 clinical scopes: v2 letters, v1 words, granular queries, and what covers what.</summary>
public sealed class ScopeTests
{
    public static TheoryData<string, ScopeContext, string, Permission, int> Valid => new()
    {
        { "patient/Observation.rs", ScopeContext.Patient, "Observation", Permission.Read | Permission.Search, 0 },
        { "user/*.cruds", ScopeContext.User, "*", Permission.All, 0 },
        { "system/Patient.c", ScopeContext.System, "Patient", Permission.Create, 0 },
        { "user/Encounter.ud", ScopeContext.User, "Encounter", Permission.Update | Permission.Delete, 0 },
        { "patient/*.read", ScopeContext.Patient, "*", Permission.Read | Permission.Search, 0 },
        { "user/Patient.write", ScopeContext.User, "Patient", Permission.Create | Permission.Update | Permission.Delete, 0 },
        { "system/*.*", ScopeContext.System, "*", Permission.All, 0 },
        { "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory", ScopeContext.Patient, "Observation", Permission.Read | Permission.Search, 1 },
        { "user/Condition.rs?category=problem-list-item&clinical-status=active", ScopeContext.User, "Condition", Permission.Read | Permission.Search, 2 },
    };

    [Theory]
    [MemberData(nameof(Valid))]
    public void Clinical_scopes_parse(string text, ScopeContext context, string type, Permission permissions, int queryParts)
    {
        var scope = SmartScope.Parse(text);
        Assert.NotNull(scope);
        Assert.Equal((context, type, permissions, queryParts), (scope.Context, scope.Type, scope.Permissions, scope.Query.Count));
    }

    [Theory]
    [InlineData("openid")]
    [InlineData("launch/patient")]
    [InlineData("offline_access")]
    [InlineData("patient/Observation.sr")]      // letters out of order
    [InlineData("patient/Observation.rr")]      // a letter twice
    [InlineData("patient/Observation.x")]
    [InlineData("patient/Observation.")]
    [InlineData("patient/Nonsense.rs")]         // not an R4 resource type
    [InlineData("admin/Patient.rs")]            // not a context
    [InlineData("patient/Observation.read?code=x")] // v1 words take no query
    [InlineData("patient/Observation.rs?")]
    [InlineData("patient/Observation.rs?code")]
    public void Other_or_malformed_scopes_are_not_clinical(string text) => Assert.Null(SmartScope.Parse(text));

    [Theory]
    [InlineData("user/*.cruds", "user/Patient.rs", true)]
    [InlineData("user/Patient.cruds", "user/Patient.r", true)]
    [InlineData("user/Patient.rs", "user/Patient.u", false)]
    [InlineData("user/Patient.rs", "user/Observation.rs", false)]
    [InlineData("system/*.rs", "user/Patient.rs", false)]    // a context is not another
    [InlineData("user/*.rs", "user/*.rs?category=x", true)]  // a broader scope covers a granular one
    [InlineData("user/*.rs?category=x", "user/*.rs", false)] // not the other way round
    public void A_scope_covers_those_it_grants_entirely(string allowed, string requested, bool covers) =>
        Assert.Equal(covers, SmartScope.Parse(allowed)!.Covers(SmartScope.Parse(requested)!));

    [Fact]
    public void Grants_allow_by_type_and_permission_and_ignore_other_scopes()
    {
        var grants = Grants.Of(["openid", "fhirUser", "patient/Observation.rs", "patient/Patient.r"]);
        Assert.Equal(2, grants.Clinical.Count);
        Assert.True(grants.Allows("Observation", Permission.Search));
        Assert.True(grants.Allows("Patient", Permission.Read));
        Assert.False(grants.Allows("Patient", Permission.Search));
        Assert.False(grants.Allows("Observation", Permission.Create));
        Assert.False(grants.Allows("*", Permission.Read)); // a typed scope does not grant every type at once
        Assert.Equal("patient/Observation.rs", Grants.Example(ScopeContext.Patient, "Observation", Permission.Read | Permission.Search));
    }
}

/// <summary>The authorise stage's scope check, on calls built without a server.</summary>
public sealed class ScopeBehaviourTests
{
    private static Interop.Fhir.Pipeline.InteractionCall Call(Interop.Fhir.Pipeline.FhirRequest request, params string[] scopes) =>
        CallAs(request, "Practitioner/7", scopes);

    private static Interop.Fhir.Pipeline.InteractionCall CallAs(Interop.Fhir.Pipeline.FhirRequest request, string? fhirUser, params string[] scopes) =>
        new(new Interop.Fhir.Pipeline.RequestContext(
            new Interop.Fhir.Pipeline.Caller("app", "doc", null, scopes.ToHashSet(), true) { FhirUser = fhirUser }, "https://fhir.example.org/fhir", "c1"), request);

    private static Interop.Fhir.Pipeline.SearchRequest Search(string type, string query) =>
        new(Interop.Fhir.Search.SearchQueryParser.Parse([type], query.Split('&').Select(p => p.Split('=', 2)).Select(kv => new KeyValuePair<string, string>(kv[0], kv[1])), true, 50, 1000));

    private static async Task<Interop.Fhir.Errors.FhirException?> Refusal(Interop.Fhir.Pipeline.InteractionCall call)
    {
        try { await new Interop.Fhir.Security.ScopeBehaviour().Before(call, CancellationToken.None); return null; }
        catch (Interop.Fhir.Errors.FhirException e) { return e; }
    }

    [Fact]
    public async Task A_call_needs_a_scope_for_its_interaction_and_type_and_the_refusal_names_one()
    {
        Assert.Null(await Refusal(Call(new Interop.Fhir.Pipeline.ReadRequest("Patient", "1"), "user/Patient.r")));
        var refused = await Refusal(Call(new Interop.Fhir.Pipeline.DeleteRequest("Patient", "1"), "user/Patient.rs"));
        Assert.Equal(Interop.Fhir.Errors.ErrorKind.Forbidden, refused!.Kind);
        Assert.Contains("user/Patient.d", refused.Message); // a user token: the example is a user/ scope
    }

    [Fact]
    public async Task A_user_scope_without_a_fhirUser_and_a_patient_scope_without_a_patient_allow_nothing()
    {
        var noUser = await Refusal(CallAs(new Interop.Fhir.Pipeline.ReadRequest("Patient", "1"), null, "user/Patient.rs"));
        Assert.Equal(Interop.Fhir.Errors.ErrorKind.Forbidden, noUser!.Kind);
        Assert.Contains("needs a fhirUser", noUser.Message);
        var noPatient = await Refusal(CallAs(new Interop.Fhir.Pipeline.ReadRequest("Patient", "1"), "Practitioner/7", "patient/Patient.rs"));
        Assert.Contains("needs a patient in context", noPatient!.Message);
        Assert.Null(await Refusal(CallAs(new Interop.Fhir.Pipeline.ReadRequest("Patient", "1"), null, "system/Patient.rs")));
    }

    [Fact]
    public async Task Includes_need_read_on_what_they_bring_back()
    {
        Assert.Null(await Refusal(Call(Search("Observation", "_include=Observation:subject:Patient"), "user/Observation.rs", "user/Patient.r")));
        Assert.NotNull(await Refusal(Call(Search("Observation", "_include=Observation:subject:Patient"), "user/Observation.rs")));
        Assert.NotNull(await Refusal(Call(Search("Patient", "_revinclude=Observation:subject"), "user/Patient.rs")));
    }

    [Fact]
    public async Task Without_a_token_every_call_is_unauthenticated_and_the_servers_own_tools_are_not_checked()
    {
        var anonymous = new Interop.Fhir.Pipeline.InteractionCall(new Interop.Fhir.Pipeline.RequestContext(
            Interop.Fhir.Pipeline.Caller.Anonymous(), "", "c2"), new Interop.Fhir.Pipeline.ReadRequest("Patient", "1"));
        Assert.Equal(Interop.Fhir.Errors.ErrorKind.Unauthenticated, (await Refusal(anonymous))!.Kind);
        Assert.Null(await Refusal(new Interop.Fhir.Pipeline.InteractionCall(Interop.Fhir.Pipeline.RequestContext.ForSystem("import"),
            new Interop.Fhir.Pipeline.DeleteRequest("Patient", "1"))));
    }
}
