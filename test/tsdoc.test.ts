/**
 * TSDoc on every export of the package, internal modules included (`npm run docs` checks only
 * what the package entries export): every exported function, class, interface, type and constant
 * has a comment; so does every public member of an exported class or interface and every field of
 * an exported object type; and a function or method names each parameter with @param and says
 * what it returns with @returns (a comment that is `{@inheritDoc ...}` takes them from there).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

/** Where every export is documented: every directory of src/, the worker entry, the CLI entry and the scripts. */
const SCOPE = [
  'src/bn',
  'src/cluster',
  'src/collectives',
  'src/cost',
  'src/tensor',
  'src/nn',
  'src/kernels',
  'src/train',
  'src/data',
  'src/io',
  'src/norm',
  'src/semantics',
  'src/half',
  'src/bench',
  'src/experiments',
  'src/report',
  'src/cli',
  'src/errors.ts',
  'src/args.ts',
  'src/summary-stats.ts',
  'src/index.ts',
  'workers',
  'bin',
  'scripts',
];

/** Files left out of the check (none: the cost model's rewrite documented the last ones). */
const NOT_YET: string[] = [];

function sourceFiles(path: string): string[] {
  if (NOT_YET.some((skip) => path === join(ROOT, skip))) return [];
  if (!statSync(path).isDirectory()) return path.endsWith('.ts') ? [path] : [];
  return readdirSync(path).flatMap((name) => sourceFiles(join(path, name)));
}

const docsOf = (node: ts.Node): ts.JSDoc[] =>
  ts.getJSDocCommentsAndTags(node).filter((d): d is ts.JSDoc => d.kind === ts.SyntaxKind.JSDoc);
const flags = (node: ts.Declaration) => ts.getCombinedModifierFlags(node);
const isHidden = (member: ts.ClassElement | ts.TypeElement) =>
  (ts.canHaveModifiers(member) &&
    (flags(member as ts.Declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0) ||
  (member.name !== undefined && ts.isPrivateIdentifier(member.name));

/** What a signature's comment lacks: a @param per named parameter, and @returns unless it returns nothing. */
function signatureGaps(node: ts.SignatureDeclaration): string[] {
  const docs = docsOf(node);
  if (docs.some((d) => d.getText().includes('@inheritDoc'))) return [];
  const tags = docs.flatMap((d) => [...(d.tags ?? [])]);
  const gaps: string[] = [];
  for (const p of node.parameters) {
    if (!ts.isIdentifier(p.name)) continue; // destructured: named freely in its @param
    const name = p.name.text;
    if (!tags.some((t) => ts.isJSDocParameterTag(t) && t.name.getText() === name)) gaps.push(`@param ${name}`);
  }
  const returns = node.type?.getText();
  const returnsNothing =
    returns === undefined ||
    /^(void|Promise<void>|never|asserts .*)$/.test(returns) ||
    ts.isConstructorDeclaration(node);
  if (!returnsNothing && !tags.some((t) => t.tagName.text === 'returns')) gaps.push('@returns');
  return gaps;
}

/** Every gap in one file, as "file:line what". */
function gapsIn(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const where = (node: ts.Node) =>
    `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
  const gaps: string[] = [];
  const need = (node: ts.Node, what: string) => {
    if (docsOf(node).length === 0) gaps.push(`${where(node)} ${what}: no comment`);
  };
  const needSignature = (node: ts.SignatureDeclaration, what: string) => {
    for (const gap of signatureGaps(node)) gaps.push(`${where(node)} ${what}: no ${gap}`);
  };
  for (const statement of source.statements) {
    if (
      !ts.canHaveModifiers(statement) ||
      !(ts.getCombinedModifierFlags(statement as ts.Declaration) & ts.ModifierFlags.Export)
    )
      continue;
    if (ts.isVariableStatement(statement)) {
      need(statement, statement.declarationList.declarations.map((d) => d.name.getText()).join(', '));
      continue;
    }
    const name = (statement as ts.DeclarationStatement).name?.getText() ?? 'default';
    need(statement, name);
    if (ts.isFunctionDeclaration(statement) && docsOf(statement).length > 0) needSignature(statement, name);
    const members: readonly (ts.ClassElement | ts.TypeElement)[] =
      ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement)
        ? statement.members
        : ts.isTypeAliasDeclaration(statement) && ts.isTypeLiteralNode(statement.type)
          ? statement.type.members
          : [];
    for (const member of members) {
      if (
        isHidden(member) ||
        ts.isIndexSignatureDeclaration(member) ||
        ts.isClassStaticBlockDeclaration(member) ||
        ts.isSemicolonClassElement(member)
      )
        continue;
      if (ts.isConstructorDeclaration(member)) {
        if (member.parameters.length === 0) continue;
        need(member, `${name}.constructor`);
        needSignature(member, `${name}.constructor`);
        for (const p of member.parameters) {
          const property =
            flags(p) & (ts.ModifierFlags.Public | ts.ModifierFlags.Readonly) &&
            !(flags(p) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected));
          if (property) need(p, `${name}.${p.name.getText()}`);
        }
        continue;
      }
      const what = `${name}.${member.name?.getText() ?? '?'}`;
      need(member, what);
      if ((ts.isMethodDeclaration(member) || ts.isMethodSignature(member)) && docsOf(member).length > 0)
        needSignature(member, what);
    }
  }
  return gaps;
}

describe('TSDoc on every export', () => {
  const files = SCOPE.flatMap((path) => sourceFiles(join(ROOT, path)));

  it('reads the files in scope', () => {
    expect(files.length).toBeGreaterThan(90);
  });

  it('documents every export, member and field, with @param and @returns', () => {
    expect(files.flatMap(gapsIn)).toEqual([]);
  });
});
