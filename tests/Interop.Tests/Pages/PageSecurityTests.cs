using System.Net;

namespace Interop.Tests.Pages;

/// <summary>
/// What every page shares: without a session each page sends the browser to the sign-in and shows nothing; the
/// security headers; the language switch redirects only within the server; the session cookie is HttpOnly and SameSite.
/// </summary>
[Collection(PagesCollection.Name)]
public sealed class PageSecurityTests(PagesFixture fixture)
{
    public static readonly TheoryData<string> DataPages = new()
    {
        "/referrals", "/timeline", $"/timeline/{PagesFixture.ResidentId(1)}", "/indicators", "/audit",
    };

    private HttpClient Browser() => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(fixture.Root) };

    [Theory]
    [MemberData(nameof(DataPages))]
    public async Task Without_a_session_a_page_sends_to_the_sign_in_and_shows_no_data(string path)
    {
        using var http = Browser();
        var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.ToString();
        Assert.StartsWith(fixture.Root + "/auth/authorize?client_id=interop-pages", location);
        Assert.Contains("code_challenge_method=S256", location);
        Assert.Empty(await response.Content.ReadAsStringAsync());
        // a forged session cookie is no session either
        using var forged = new HttpRequestMessage(HttpMethod.Get, path);
        forged.Headers.Add("Cookie", "interop.pages=CfDJ8forged");
        Assert.Equal(HttpStatusCode.Redirect, (await http.SendAsync(forged)).StatusCode);
    }

    [Fact]
    public async Task Pages_carry_the_security_headers()
    {
        using var http = Browser();
        var home = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
        var csp = home.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.Equal("DENY", home.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", home.Headers.GetValues("X-Content-Type-Options").Single());
    }

    [Theory]
    [InlineData("//evil.example/x")]
    [InlineData("https://evil.example/")]
    [InlineData("/\\evil.example")]
    public async Task The_language_switch_never_redirects_off_the_server(string back)
    {
        using var http = Browser();
        var response = await http.GetAsync($"/language?to=zh-CN&back={Uri.EscapeDataString(back)}");
        Assert.Equal("/", response.Headers.Location!.ToString());
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("interop.lang=zh-CN"));
    }

    [Fact]
    public async Task The_session_cookie_is_http_only_and_same_site()
    {
        await using var tab = await Browse.Open(fixture);
        await tab.SignIn("/signin", fixture.Directory.Teams[0].GpId);
        var cookies = await tab.Page.Context.CookiesAsync();
        var session = cookies.Where(c => c.Name.StartsWith("interop.pages")).ToList();
        Assert.NotEmpty(session);
        Assert.All(session, c => Assert.True(c.HttpOnly && c.SameSite == Microsoft.Playwright.SameSiteAttribute.Lax, $"{c.Name}: HttpOnly {c.HttpOnly}, SameSite {c.SameSite}"));
        // the token never reaches the page's script
        Assert.DoesNotContain("interop.pages", await tab.Page.EvaluateAsync<string>("() => document.cookie"));
    }
}
