namespace Interop.Tests.Pages;

/// <summary>The home page, sign-in through the server's own authorisation server, the language switch.</summary>
[Collection(PagesCollection.Name)]
public sealed class HomePageTests(PagesFixture fixture)
{
    [Fact]
    public async Task A_gp_signs_in_and_sees_who_they_are_in_english_and_in_chinese()
    {
        await using var tab = await Browse.Open(fixture);
        var gp = fixture.Directory.Teams[0].GpId;
        await tab.SignIn("/signin", gp);
        Assert.Equal(gp, await tab.Page.Locator("#signed-in").GetAttributeAsync("data-user"));
        Assert.Contains("clinician", await tab.Page.Locator(".facts").InnerTextAsync());
        Assert.Equal("en", await tab.Page.Locator("html").GetAttributeAsync("lang"));
        await tab.Screenshot("home");
        await tab.AssertAccessible();

        await tab.Page.ClickAsync("a[lang=zh-CN]");
        Assert.Equal("zh-CN", await tab.Page.Locator("html").GetAttributeAsync("lang"));
        Assert.Contains("退出登录", await tab.Page.Locator("header").InnerTextAsync());
        await tab.AssertKeyboardReaches("a[href='/signout']");
        tab.AssertNoConsoleErrors();

        await tab.Page.ClickAsync("a[href='/signout']");
        Assert.Equal(0, await tab.Page.Locator("#signed-in").CountAsync());
    }

    [Fact]
    public async Task A_chinese_browser_gets_chinese_pages_and_a_wrong_password_gets_no_session()
    {
        await using var tab = await Browse.Open(fixture, "zh-CN");
        await tab.Page.GotoAsync("/");
        Assert.Equal("zh-CN", await tab.Page.Locator("html").GetAttributeAsync("lang"));
        await tab.Page.GotoAsync("/signin");
        await tab.Page.FillAsync("input[name=username]", fixture.Directory.Teams[0].GpId);
        await tab.Page.FillAsync("input[name=password]", "not-the-password-1A");
        await tab.Page.ClickAsync("button[type=submit]");
        Assert.Contains("/auth/authorize", tab.Page.Url);
        await tab.Page.GotoAsync("/");
        Assert.Equal(0, await tab.Page.Locator("#signed-in").CountAsync());
    }
}
