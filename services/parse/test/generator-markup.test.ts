import { expect } from 'chai';
import { parseMarkdown, stripGeneratorMarkup } from '../src/index.js';

const opts = { documentId: 'doc-1', sourceUri: 'file:///docs/guide.md' };
const textOf = (md: string): string => parseMarkdown(md, opts).sections.map((s) => s.text).join('\n\n');

describe('parse: generator markup loses its markers and keeps its inner text', () => {
  it('GitBook {% hint %} blocks', () => {
    expect(textOf('# T\n\nBefore.\n{% hint style="info" %}\nInner **text**.\n{% endhint %}\nAfter.\n')).to.equal(
      'T\n\nBefore.\n\nInner text.\n\nAfter.',
    );
  });

  it('other Liquid tags, keeping a title attribute as a line', () => {
    expect(textOf('{% tabs %}\n{% tab title="Python" %}\nUse pip.\n{% endtab %}\n{% endtabs %}\n')).to.equal('Python\n\nUse pip.');
    expect(textOf('{% code title="redis.conf" %}\n```conf\nport 6379\n```\n{% endcode %}\n')).to.equal(
      'redis.conf\n\n```conf\nport 6379\n```',
    );
  });

  it('tags inside a line vanish, the text stays', () => {
    expect(textOf('Press {% kbd %}Ctrl{% endkbd %} now and {{< icon "x" >}} go.')).to.equal('Press Ctrl now and  go.');
  });

  it('Hugo {{< >}} and {{% %}} shortcodes', () => {
    expect(textOf('{{< note >}}\nA note.\n{{< /note >}}\n\n{{% alert title="Warning" color="warning" %}}\nCareful.\n{{% /alert %}}\n')).to.equal(
      'A note.\n\nWarning\n\nCareful.',
    );
  });

  it('Hugo code shortcodes become fenced code with their language', () => {
    const md = 'Run:\n\n{{< highlight bash >}}\nsudo apt install redis\n{{< / highlight >}}\n\n{{< clients-example set_tutorial incr >}}\n> INCR total\n(integer) 1\n{{< /clients-example >}}\n';
    expect(textOf(md)).to.equal('Run:\n\n```bash\nsudo apt install redis\n```\n\n```\n> INCR total\n(integer) 1\n```');
  });

  it('Hugo escaped shortcodes render literally', () => {
    expect(stripGeneratorMarkup('Write {{</* note */>}} to add a note.')).to.equal('Write {{< note >}} to add a note.');
  });

  it('Docusaurus admonitions, with a title, a bracket title, or none, and nested', () => {
    const md = ':::tip Pro tip\nUse pipelines.\n:::\n\n:::note[Heads up]\nOuter.\n\n::::warning\nInner.\n::::\n:::\n\n:::info\nPlain.\n:::\n';
    expect(textOf(md)).to.equal('Pro tip\n\nUse pipelines.\n\nHeads up\n\nOuter.\n\nInner.\n\nPlain.');
  });

  it('MkDocs admonitions: marker becomes the title, the indented body is de-indented', () => {
    const md = 'Intro.\n\n!!! note "Read this"\n    First line.\n\n    ```bash\n    redis-cli ping\n    ```\n\n??? warning\n    Collapsed.\n\nAfter.\n';
    expect(textOf(md)).to.equal('Intro.\n\nRead this\n\nFirst line.\n\n```bash\nredis-cli ping\n```\n\nCollapsed.\n\nAfter.');
  });

  it('MkDocs admonitions nest', () => {
    const md = '!!! note "Outer"\n    Outer body.\n\n    !!! tip "Inner"\n        Inner body.\n';
    expect(textOf(md)).to.equal('Outer\n\nOuter body.\n\nInner\n\nInner body.');
  });

  it('never touches code fences or inline code', () => {
    const md = [
      'Use `{% hint %}` and `{{< note >}}` in your docs.',
      '',
      '```markdown',
      '{% hint style="info" %}',
      ':::tip',
      '!!! note "x"',
      '    body',
      '{{< highlight go >}}',
      '{{< /highlight >}}',
      '```',
    ].join('\n');
    expect(textOf(md)).to.equal(
      'Use `{% hint %}` and `{{< note >}}` in your docs.\n\n```markdown\n{% hint style="info" %}\n:::tip\n!!! note "x"\n    body\n{{< highlight go >}}\n{{< /highlight >}}\n```',
    );
  });

  it('leaves unmatched markers and look-alikes alone', () => {
    expect(stripGeneratorMarkup('a {% not closed\n:::\n!!! note that this is prose\n')).to.equal(
      'a {% not closed\n:::\n!!! note that this is prose\n',
    );
  });

  it('stays linear on adversarial tag soup', () => {
    const t0 = Date.now();
    stripGeneratorMarkup('{%'.repeat(200_000) + '%}' + '{{<'.repeat(100_000) + '`'.repeat(50_000));
    expect(Date.now() - t0).to.be.below(2000);
  });
});
