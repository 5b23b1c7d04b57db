/** `smartsupport profile upload-image FILE` — set your profile image (wired into the profile noun). */
import type { Command } from 'commander';
import { defineVerb, withJson } from '../command.js';
import type { Factory } from '../factory.js';

export function registerUploadImage(noun: Command, factory: () => Factory): void {
  withJson(defineVerb(noun, 'upload-image', 'uploadEmployeeImage', 'upload your profile image (JPEG, PNG or WebP, ≤ 5 MB; resized to 1024×1024)'))
    .argument('<file>', 'the image file')
    .action(async (file: string, opts: { json?: boolean | string }) => {
      const f = factory();
      const [{ buildUploadForm }, { print }] = await Promise.all([import('../attachments/upload.js'), import('../output/print.js')]);
      const { form, done } = await buildUploadForm(f, 'image', [file], 'uploading');
      let res;
      try {
        res = await f.client().call('post', '/api/employee/upload-image/', { form });
      } finally {
        done();
      }
      await print(f, res.data, { json: opts.json, columns: [{ key: 'image' }, { key: 'image_url', header: 'url (short-lived)' }] });
    });
}
