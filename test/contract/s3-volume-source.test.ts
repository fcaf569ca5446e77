import {
  CreateBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { beforeAll } from "vitest";
import { s3Client } from "../../lib/adapters/aws/clients.ts";
import { openS3ImageSource, parseS3Url } from "../../lib/adapters/aws/s3-image-source.ts";
import { buildVhdFooter } from "../../lib/formats/vhd.ts";
import { emulatorConfig, uniqueName } from "../helpers/aws.ts";
import {
  describeVolumeSourceContract,
  type VolumeSourceHarness,
  type VolumeSourceImage,
} from "./volume-source.contract.ts";

let s3: S3Client;
let bucket: string;
let made = 0;
beforeAll(async () => {
  s3 = s3Client(emulatorConfig());
  bucket = uniqueName("volume-source");
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

const remove = async (image: VolumeSourceImage) => {
  const { key } = parseS3Url(image.name);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
};

/**
 * Objects holding the disk as `encode` lays it out, which also says the logical size. A small
 * part size makes every read above a few KiB several ranged GETs put back together.
 */
function s3Harness(encode: (bytes: Buffer) => { data: Buffer; size: number }): VolumeSourceHarness {
  const options = { partSize: 4096, concurrency: 4 };
  return {
    async make(bytes) {
      const key = `images/disk-${++made}`;
      const { data, size } = encode(bytes);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
      const image: VolumeSourceImage = {
        name: `s3://${bucket}/${key}`,
        size,
        open: () => openS3ImageSource(s3, image.name, options),
        cleanup: () => remove(image),
      };
      return image;
    },
    openMissing() {
      const url = `s3://${bucket}/images/never-written`;
      return { name: url, opening: openS3ImageSource(s3, url, options) };
    },
    vanish: remove,
  };
}

describeVolumeSourceContract(
  "raw image in S3",
  s3Harness((bytes) => ({ data: bytes, size: bytes.length })),
);

describeVolumeSourceContract(
  "fixed VHD in S3",
  s3Harness((bytes) => {
    // A VHD disk is whole 512-byte sectors: the padding is part of the disk and reads as zeros.
    const size = Math.ceil(bytes.length / 512) * 512;
    const disk = Buffer.concat([bytes, Buffer.alloc(size - bytes.length)]);
    return { data: Buffer.concat([disk, buildVhdFooter(size)]), size };
  }),
);
