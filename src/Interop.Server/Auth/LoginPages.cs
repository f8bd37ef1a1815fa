using System.Net;
using System.Text;
using Interop.Fhir.Scopes;
using Microsoft.AspNetCore.Antiforgery;
using OpenIddict.Abstractions;

namespace Interop.Server.Auth;

/// <summary>
/// The server's own pages of the authorisation step: a login form (inputs named username and password) and a
/// consent page listing the requested scopes in plain words. Everything shown is HTML-encoded; every form carries
/// an antiforgery token and the authorisation request's parameters.
/// </summary>
public static class LoginPages
{
    private static readonly HashSet<string> Own = ["username", "password", "decision", "patient", "q", "__RequestVerificationToken"];

    public static IResult Login(HttpContext http, IAntiforgery antiforgery, OpenIddictRequest request, string? error, int? status = null)
    {
        var body = new StringBuilder();
        body.Append("<h1>Sign in</h1>");
        body.Append($"<p><b>{E(request.ClientId)}</b> asks to use your Interop record.</p>");
        if (error is not null) body.Append($"<p class=error role=alert>{E(error)}</p>");
        body.Append(Form(http, antiforgery, request));
        body.Append("<label>Username <input name=username autocomplete=username required autofocus></label>");
        body.Append("<label>Password <input name=password type=password autocomplete=current-password required></label>");
        body.Append("<button type=submit>Sign in</button></form>");
        return Page("Sign in", body, status ?? (error is null ? 200 : 401));
    }

    public static IResult Consent(HttpContext http, IAntiforgery antiforgery, OpenIddictRequest request, AuthUser user, ClientProfile client,
        IReadOnlyList<string> granted, bool pickPatient, IReadOnlyList<(string Id, string Label)> matches, string? error)
    {
        var resident = user.FhirUser.StartsWith("Patient/", StringComparison.Ordinal);
        var body = new StringBuilder();
        body.Append($"<h1>Allow {E(client.ClientId)}?</h1>");
        body.Append($"<p>Signed in as <b>{E(user.Username)}</b>.</p>");
        if (error is not null) body.Append($"<p class=error role=alert>{E(error)}</p>");
        body.Append("<p>It will be able to:</p><ul id=scopes>");
        foreach (var scope in granted) body.Append($"<li data-scope=\"{E(scope)}\">{E(Describe(scope, resident))}</li>");
        if (granted.Count == 0) body.Append("<li>nothing: none of the requested scopes is allowed for this app.</li>");
        body.Append("</ul>");
        if (pickPatient)
        {
            body.Append(Form(http, antiforgery, request));
            body.Append("<label>Find the patient (name or identifier) <input name=q></label><button type=submit name=decision value=search>Search</button></form>");
        }
        body.Append(Form(http, antiforgery, request));
        if (pickPatient)
        {
            body.Append("<fieldset><legend>Patient</legend>");
            foreach (var (id, label) in matches)
                body.Append($"<label><input type=radio name=patient value=\"{E(id)}\"> {E(label)}</label>");
            if (matches.Count == 0) body.Append("<p>Search for the patient above.</p>");
            body.Append("</fieldset>");
        }
        body.Append("<button type=submit name=decision value=approve>Allow</button> ");
        body.Append("<button type=submit name=decision value=deny>Deny</button></form>");
        return Page("Allow access", body, 200);
    }

    /// <summary>A scope in plain words ("Read and search your observations").</summary>
    public static string Describe(string scope, bool resident)
    {
        var whose = resident ? "your" : "the patient's";
        if (SmartScope.Parse(scope) is { } s)
        {
            var what = s.Type == "*" ? "records of every kind" : $"{s.Type} records";
            var verbs = new List<string>();
            if (s.Permissions.HasFlag(Permission.Read)) verbs.Add("read");
            if (s.Permissions.HasFlag(Permission.Search)) verbs.Add("search");
            if (s.Permissions.HasFlag(Permission.Create)) verbs.Add("create");
            if (s.Permissions.HasFlag(Permission.Update)) verbs.Add("change");
            if (s.Permissions.HasFlag(Permission.Delete)) verbs.Add("delete");
            var of = s.Context switch
            {
                ScopeContext.Patient => $"{whose} {what}",
                ScopeContext.User => $"{what} you may see",
                _ => $"all {what}",
            };
            var only = s.HasQuery ? " (only those with " + string.Join(", ", s.Query.Select(q => $"{q.Key} {q.Value}")) + ")" : "";
            return char.ToUpperInvariant(verbs[0][0]) + string.Join(", ", verbs)[1..] + " " + of + only;
        }
        return scope switch
        {
            "openid" => "Know who you are",
            "fhirUser" => resident ? "Know which patient record is yours" : "Know which practitioner you are",
            "launch/patient" => resident ? "Open your record" : "Open the record of the patient you pick",
            "launch" => "Open with the patient (and encounter) the EHR has open",
            "offline_access" => "Keep access while you are away (until you revoke it)",
            "online_access" => "Keep access while you use it (it lapses after an hour unused)",
            _ => scope,
        };
    }

    private static string Form(HttpContext http, IAntiforgery antiforgery, OpenIddictRequest request)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var form = new StringBuilder("<form method=post action=\"/auth/authorize\">");
        form.Append($"<input type=hidden name=\"{E(tokens.FormFieldName)}\" value=\"{E(tokens.RequestToken)}\">");
        foreach (var (name, value) in request.GetParameters())
            if (!Own.Contains(name) && (string?)value is { } text)
                form.Append($"<input type=hidden name=\"{E(name)}\" value=\"{E(text)}\">");
        return form.ToString();
    }

    private static IResult Page(string title, StringBuilder body, int status)
    {
        var html = $$"""
            <!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width">
            <title>{{E(title)}} · Interop</title><style>body{font:16px system-ui;max-width:32rem;margin:2rem auto;padding:0 1rem}
            label{display:block;margin:.6rem 0}input[name=username],input[name=password],input[name=q]{display:block;width:100%;padding:.4rem}
            button{padding:.5rem 1rem;margin-top:.6rem}.error{color:#a00}</style></head><body>{{body}}</body></html>
            """;
        return Results.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string E(string? text) => WebUtility.HtmlEncode(text ?? "");
}
