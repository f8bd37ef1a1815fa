using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Interop.Tests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.IdentityModel.Tokens;

namespace Interop.Tests.Auth;

/// <summary>A server whose revocation cache is one second old at most (and a jwksUri refetched after 2 s), with helpers for registrations and launches.</summary>
public sealed class AuthFixture : FhirServerFixture
{
    protected override IDictionary<string, string> Settings => new Dictionary<string, string>
    {
        ["Auth:RevocationCacheSeconds"] = "1",
        ["Auth:JwksRefetchSeconds"] = "2", // a jwksUri client's rotated key is found after 2 s (JwksUriTests)
    };

    public const string Redirect = "https://app.example/callback";

    public async Task<HttpResponseMessage> Admin(string path, object body) =>
        await CreateClient().PostAsync(path, new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"));

    public async Task RegisterOrFail(string path, object body)
    {
        var response = await Admin(path, body);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>A browser: cookies kept, redirects not followed, no token of its own.</summary>
    public HttpClient Browser()
    {
        var browser = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });
        browser.DefaultRequestHeaders.Authorization = null;
        return browser;
    }

    public static HttpClient WithToken(HttpClient client, string token)
    {
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    public HttpClient Bearer(string token) => WithToken(Anonymous(), token);

    public static (string Verifier, string Challenge) Pkce()
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        return (verifier, Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static string AuthorizeUrl(string clientId, string scope, string challenge, string state = "s1", string method = "S256", string redirect = Redirect,
        string aud = "http://localhost/fhir", string? launch = null) =>
        $"/auth/authorize?response_type=code&client_id={clientId}&redirect_uri={Uri.EscapeDataString(redirect)}&scope={Uri.EscapeDataString(scope)}" +
        $"&state={state}&aud={Uri.EscapeDataString(aud)}&code_challenge={challenge}&code_challenge_method={method}" +
        (launch is null ? "" : $"&launch={Uri.EscapeDataString(launch)}");

    /// <summary>The fields of the page's last form (hidden and named inputs, with their values).</summary>
    public static List<KeyValuePair<string, string>> FormFields(string html, int index = -1)
    {
        var forms = Regex.Matches(html, "<form[^>]*>(.*?)</form>", RegexOptions.Singleline);
        Assert.NotEmpty(forms);
        var form = forms[index < 0 ? forms.Count + index : index].Groups[1].Value;
        return Regex.Matches(form, "<input type=hidden name=\"([^\"]*)\" value=\"([^\"]*)\">")
            .Select(m => new KeyValuePair<string, string>(WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value))).ToList();
    }

    public static async Task<HttpResponseMessage> Submit(HttpClient browser, string html, int index, params (string Name, string Value)[] fields)
    {
        var values = FormFields(html, index);
        values.AddRange(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
        return await browser.PostAsync("/auth/authorize", new FormUrlEncodedContent(values));
    }

    /// <summary>The whole standalone launch in a browser: login form, consent, back to the redirect URI with a code.</summary>
    public async Task<(string Code, string Verifier)> Launch(string clientId, string scope, string username, string password,
        Func<HttpClient, string, Task<string>>? pick = null, string? launch = null)
    {
        var browser = Browser();
        var (verifier, challenge) = Pkce();
        var login = await browser.GetAsync(AuthorizeUrl(clientId, scope, challenge, launch: launch));
        var loginPage = await login.Content.ReadAsStringAsync();
        Assert.True(login.StatusCode == HttpStatusCode.OK, loginPage);
        Assert.Contains("name=username", loginPage);
        Assert.Contains("name=password", loginPage);
        var consent = await Submit(browser, loginPage, -1, ("username", username), ("password", password));
        var consentPage = await consent.Content.ReadAsStringAsync();
        Assert.True(consent.StatusCode == HttpStatusCode.OK, consentPage);
        Assert.Contains("value=approve", consentPage);
        var approveFields = new List<(string, string)> { ("decision", "approve") };
        if (pick is not null)
        {
            consentPage = await pick(browser, consentPage);
            approveFields.Add(("patient", Regex.Match(consentPage, "name=patient value=\"([^\"]+)\"").Groups[1].Value));
        }
        var back = await Submit(browser, consentPage, -1, approveFields.ToArray());
        Assert.True(back.StatusCode == HttpStatusCode.Redirect, $"{(int)back.StatusCode} {await back.Content.ReadAsStringAsync()}");
        var location = back.Headers.Location!;
        Assert.StartsWith(Redirect, location.ToString());
        var query = System.Web.HttpUtility.ParseQueryString(location.Query);
        Assert.Equal("s1", query["state"]);
        return (query["code"] ?? throw new InvalidOperationException("no code: " + location), verifier);
    }

    public async Task<(HttpStatusCode Status, JsonElement Body)> TokenRequest(Dictionary<string, string> form, HttpClient? http = null)
    {
        var response = await (http ?? Anonymous()).PostAsync("/auth/token", new FormUrlEncodedContent(form));
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    /// <summary>The app's side of the code flow: the code and the PKCE verifier for tokens.</summary>
    public Task<(HttpStatusCode Status, JsonElement Body)> Exchange(string clientId, string code, string verifier) => TokenRequest(new()
    {
        ["grant_type"] = "authorization_code", ["client_id"] = clientId, ["code"] = code, ["redirect_uri"] = Redirect, ["code_verifier"] = verifier,
    });

    /// <summary>The claims of a JWT's payload (not validated: for looking at what the server issued).</summary>
    public static JsonElement Claims(string jwt) =>
        JsonDocument.Parse(Base64UrlEncoder.Decode(jwt.Split('.')[1])).RootElement.Clone();

    public async Task<string> NewId(Hl7.Fhir.Model.Resource resource) => await CreateClient().CreateId(resource);
}
